// Start when ready (docs/start-when-ready.md): approved grants that wait, without a credential,
// for their requester to start them or for the start time their request named. The list the
// Start buttons show; the server is its truth, so every change here follows one from it.
import type { Grant, WaitingGrant } from '@stint/contract';
import type { StateHub } from '../state-hub';

export function toWaiting(grant: Grant): WaitingGrant {
  return {
    grantId: grant.id,
    requestId: grant.requestId,
    systemId: grant.systemId,
    durationSeconds: Math.round((Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)) / 1000),
    startBy: grant.startBy ?? null,
    startAt: grant.startAt ?? null,
  };
}

/** Soonest deadline first: what must be started (or starts by itself) next is on top. */
const soonest = (w: WaitingGrant) => w.startBy ?? w.startAt ?? '';

export class WaitingGrants {
  constructor(private readonly state: StateHub) {}

  /** After a (re)connect: exactly the ready grants the server lists. */
  replace(live: readonly Grant[]): void {
    this.#set(live.filter((g) => g.state === 'ready').map(toWaiting));
  }

  /** A grant became ready: listed, and the person told (it is theirs to start). */
  add(grant: Grant): void {
    const waiting = toWaiting(grant);
    const known = this.state.get().waiting.some((w) => w.grantId === grant.id);
    this.#set([...this.state.get().waiting.filter((w) => w.grantId !== grant.id), waiting]);
    if (!known) this.state.notice({ kind: 'grant-waiting', grant: waiting });
  }

  /** It started, or ended; true when it was waiting here. */
  drop(grantId: string): boolean {
    const before = this.state.get().waiting;
    if (!before.some((w) => w.grantId === grantId)) return false;
    this.#set(before.filter((w) => w.grantId !== grantId));
    return true;
  }

  #set(waiting: WaitingGrant[]): void {
    this.state.patch({ waiting: waiting.sort((a, b) => soonest(a).localeCompare(soonest(b))) });
  }
}
