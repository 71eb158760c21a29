// The one sentence for an approval that waits (start when ready, or a start time), said by
// `stint request` when it is approved and by `stint status` while it waits. No zod: the quick
// CLI path (cli/src/quick.ts) loads this too.
import { formatDuration } from './duration';

export interface WaitingLike {
  systemId: string;
  durationSeconds: number;
  startBy: string | null;
  startAt: string | null;
}

/** "Approved: ops-console for 30m, not started. Start it before …: stint start ops-console", or when it starts by itself. */
export function waitingSentence(w: WaitingLike, show: (text: string) => string = (t) => t): string {
  const what = `Approved: ${show(w.systemId)} for ${formatDuration(w.durationSeconds)}`;
  return w.startAt
    ? `${what}, starts by itself at ${w.startAt}; nothing is issued before then.`
    : `${what}, not started. Start it before ${w.startBy ?? 'the window closes'}: stint start ${show(w.systemId)}`;
}
