import type { AccessContext } from './context';
import { endUnstartedGrants, startScheduledGrants } from './start';
import { resumeIssuance } from './activation';
import { countRevoking, expireDueGrants, noticeExpiringGrants } from './grants';
import { retryRevocations } from './revocation';
import { expirePendingRequests } from './requests';

/**
 * The server's expiry clock. Deadlines live in the database, so a restarted server (or any
 * replica) picks up where another left off: overdue grants first, then retries, then the rest.
 * Safe on several replicas: ending is a conditional update and revoking holds a lease.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private issuing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: AccessContext,
    private readonly intervalMs = 250,
  ) {}

  /**
   * One full pass; loops while a batch came back full so a backlog drains quickly. Resumed
   * issues wait on providers (a webhook may take minutes), so the timer's passes leave them
   * running in the background and go on expiring and revoking; a direct call waits for them.
   */
  async runOnce(options: { background?: boolean } = {}): Promise<void> {
    const { ctx } = this;
    while ((await expireDueGrants(ctx)) === 500 && !this.stopped);
    await retryRevocations(ctx);
    while ((await expirePendingRequests(ctx)) === 500 && !this.stopped);
    while ((await endUnstartedGrants(ctx)) === 500 && !this.stopped);
    await noticeExpiringGrants(ctx);
    // Scheduled starts issue too (a provider may be slow), so they run with the resumed issues.
    this.issuing ??= resumeIssuance(ctx)
      .then(async () => void (await startScheduledGrants(ctx)))
      .catch((error: unknown) => ctx.log.error({ err: (error as Error).message }, 'resuming issues failed; retrying'))
      .finally(() => {
        this.issuing = null;
      });
    if (!options.background) await this.issuing;
    await ctx.providers.release(ctx.store.db);
    ctx.metrics.revokesPending.set(await countRevoking(ctx.store.db));
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce({ background: true })
        .catch((error: unknown) => this.ctx.log.error({ err: (error as Error).message }, 'sweeper pass failed; retrying'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.issuing;
  }
}
