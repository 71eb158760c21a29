import type { StintBridge } from '@stint/contract';

/** Runs a bridge call; a failure is shown in the app's alert region and resolves to undefined. */
export type Run = <T>(work: Promise<T>) => Promise<T | undefined>;

export interface ScreenProps {
  bridge: StintBridge;
  run: Run;
  /** Confirms what an action did, in the app's polite toast region (e.g. "Approved ..."). */
  say?: (text: string) => void;
}
