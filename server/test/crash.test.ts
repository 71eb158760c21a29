import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { tokenSigner } from '../../test-support/tokens';

/**
 * Fault run: the server is killed with SIGKILL in the middle of sustained load, stays down
 * across the deadlines of the grants it had issued, and comes back. Nothing it acknowledged
 * with a 2xx is lost, and every grant whose deadline passed while it was down is revoked right
 * after it is back (before it serves).
 */
const CATALOG = `systems:
  - id: quick
    name: Quick
    description: granted at once, for a few seconds
    risk: low
    provider: { type: demo, settings: { envVar: QUICK_TOKEN } }
    durations: { presets: [1m], max: 1h }
    requesters: [engineering, sre-leads, security]
    approvers: []
    approvalsRequired: 0
    justification: optional
`;

const CLIENTS = 6;
const GRANT_SECONDS = 6;

interface Acknowledged {
  user: string;
  requestId: string;
  grantId: string;
  expiresAt: number;
}

describe('the server killed under load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stint-crash-'));
  const dataDir = join(dir, 'server');
  writeFileSync(join(dir, 'catalog.yaml'), CATALOG);
  const args = ['--catalog', join(dir, 'catalog.yaml')];
  let dev: DevServer | null = null;
  afterAll(async () => {
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing it acknowledged, and revokes what expired while it was down as it comes back', async () => {
    dev = await startDevServer({ dataDir, args });
    const first = dev;
    // One person has one live grant per system, and these outlive the load: every request is
    // someone else's, with a token signed by the dev IdP's key (which it keeps in the data folder).
    const tokenFor = async (server: DevServer) => {
      const sign = await tokenSigner(dataDir, server.issuer);
      return (user: string) => sign({ groups: ['engineering'] }, { sub: user });
    };
    const firstToken = await tokenFor(first);
    const acknowledged: Acknowledged[] = [];
    let failures = 0;
    let stopLoad = false;
    let people = 0;
    const client = async () => {
      while (!stopLoad) {
        const user = `engineer-${people++}`;
        const token = await firstToken(user);
        try {
          const response = await fetch(`${first.serverUrl}/v1/requests`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ systemId: 'quick', durationSeconds: GRANT_SECONDS, reason: 'load' }),
          });
          const body = (await response.json()) as { request: { id: string }; grant: { id: string; expiresAt: string } | null };
          if (response.status === 201 && body.grant) acknowledged.push({ user, requestId: body.request.id, grantId: body.grant.id, expiresAt: Date.parse(body.grant.expiresAt) });
        } catch {
          failures++; // the connection died with the server: never acknowledged
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, client));
    await new Promise((r) => setTimeout(r, 1500));
    await first.crash();
    const crashedAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    stopLoad = true;
    await load;
    expect(acknowledged.length).toBeGreaterThan(20);
    expect(failures).toBeGreaterThan(0);

    // Down across every deadline it had promised.
    const lastDeadline = Math.max(...acknowledged.map((a) => a.expiresAt));
    expect(lastDeadline).toBeGreaterThan(crashedAt);
    await new Promise((r) => setTimeout(r, lastDeadline - Date.now() + 1000));

    const restartedAt = Date.now();
    dev = await startDevServer({ dataDir, args });
    const servingAt = Date.now();
    const again = dev;
    const againToken = await tokenFor(again);
    for (const a of acknowledged) {
      // Acknowledged means durable: the request and its grant are there for the requester.
      const response = await fetch(`${again.serverUrl}/v1/requests/${a.requestId}`, { headers: { authorization: `Bearer ${await againToken(a.user)}` } });
      expect(response.status, `request ${a.requestId}`).toBe(200);
      const view = (await response.json()) as { grant: { id: string; state: string; endedAt: string | null; endReason: string | null } | null };
      const grant = view.grant;
      expect(grant?.id, `grant of request ${a.requestId}`).toBe(a.grantId);
      // Overdue when the server came back: ended, and at start-up, not some time later.
      expect(grant!.state).toBe('ended');
      expect(grant!.endReason).toBe('expired');
      expect(Date.parse(grant!.endedAt!)).toBeGreaterThanOrEqual(restartedAt);
      // ...before the server said it was up (startDevServer resolves on that line).
      expect(Date.parse(grant!.endedAt!)).toBeLessThanOrEqual(servingAt);
    }
    console.log(`crash under load: ${acknowledged.length} acknowledged, ${failures} refused by the dead server; all durable, all revoked at restart`);
  }, 60_000);
});
