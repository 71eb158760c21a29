import type { CoreState, Notice } from '@stint/contract';
import type { Notifier } from './platform';

/**
 * The one observable state every client shows, and the notices said to the person. Parts of
 * core patch it; the UI bridge, the socket and the tray only read and subscribe.
 */
export class StateHub {
  #state: CoreState;
  readonly #stateListeners = new Set<(state: CoreState) => void>();
  readonly #noticeListeners = new Set<(notice: Notice) => void>();

  /** Where every core starts: nothing known, until the saved session is restored. */
  static signedOut(serverUrl: string, revision: number, notifier: Notifier | undefined): StateHub {
    const initial: CoreState = { serverUrl, auth: { status: 'signed-out', user: null, message: null }, connection: 'offline', systems: [], myRequests: [], reviewQueue: [], grants: [], waiting: [], revision };
    return new StateHub(initial, notifier);
  }

  constructor(initial: CoreState, private readonly notifier: Notifier | undefined) {
    this.#state = initial;
  }

  get(): CoreState {
    return this.#state;
  }

  patch(patch: Partial<CoreState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const listener of this.#stateListeners) listener(this.#state);
  }

  subscribe(listener: (state: CoreState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  onNotice(listener: (notice: Notice) => void): () => void {
    this.#noticeListeners.add(listener);
    return () => this.#noticeListeners.delete(listener);
  }

  notice(notice: Notice): void {
    this.notifier?.notify(notice);
    for (const listener of this.#noticeListeners) listener(notice);
  }
}
