import type { RequestState } from '@stint/contract';

export function StateBadge({ state }: { state: RequestState }) {
  return <span className={`badge badge-${state}`}>{state}</span>;
}
