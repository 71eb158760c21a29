// Can the store still take a write? A read (`select 1`) answers on a full disk, a read-only
// file or a stopped primary's replica; /readyz must say "not ready" then, or a load balancer
// keeps sending requests that will all fail. The probe writes a row big enough to need space
// and rolls it back, so the table stays empty and nothing is kept.
import type { Store } from './database';
import { storageProblem } from './storage-errors';

const FILLER = 'x'.repeat(8192);
const ROLLBACK = Symbol('rollback');
const PROBE_TIMEOUT_MS = 3000;
/** A load balancer may ask every second; the answer is reused for this long. */
const REUSE_MS = 1000;

export interface WriteProbe {
  /** null when a write goes through; else what is wrong, in words. */
  check(): Promise<string | null>;
}

export function writeProbe(store: Store, now: () => number = Date.now): WriteProbe {
  let last: { at: number; answer: Promise<string | null> } | null = null;
  const probe = async (): Promise<string | null> => {
    const attempt = store.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('write_probe').values({ filler: FILLER }).execute();
        throw ROLLBACK;
      })
      .then(
        () => null,
        (error: unknown) => (error === ROLLBACK ? null : (storageProblem(error)?.kind.replace('_', '-') ?? 'fails') + `: ${(error as Error).message}`),
      );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`), PROBE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([attempt, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    check() {
      if (!last || now() - last.at >= REUSE_MS) last = { at: now(), answer: probe() };
      return last.answer;
    },
  };
}
