/**
 * client_wipe_lateness_ms: how long after each grant's deadline the app has wiped it (keychain
 * item deleted, shells told, receipt shown), over many grants with staggered deadlines, on the
 * real keychain. Measured from the deadline to the wipe receipt. 60 grants, deadlines spread
 * over about 30 s, each for a system of its own (one person has one live grant per system): the
 * demo catalog gets that many sandbox-like systems. Run alone (needs a keyring session):
 *   dbus-run-session -- bash scripts/with-keyring.sh npx tsx bench/wipe-lateness.ts [--grants 60]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signedInClient } from './client';
import { isMain, latencyFigures } from './processes';

const { values } = parseArgs({ options: { grants: { type: 'string', default: '60' } } });

/** `count` systems granted at once, like demo-sandbox: wipe-0, wipe-1, ... */
const catalog = (count: number) =>
  `systems:\n${Array.from({ length: count }, (_, i) => `  - id: wipe-${i}
    name: Wipe ${i}
    description: granted at once
    risk: low
    provider: { type: demo, settings: { envVar: WIPE_${i}_TOKEN } }
    durations: { presets: [1m], max: 1h }
    requesters: [engineering]
    approvers: []
    approvalsRequired: 0
    justification: optional
`).join('')}`;

export async function benchWipeLateness(grants = Number(values.grants)) {
  const dir = mkdtempSync(join(tmpdir(), 'stint-bench-wipe-'));
  writeFileSync(join(dir, 'catalog.yaml'), catalog(grants));
  const client = await signedInClient('alice', { args: ['--catalog', join(dir, 'catalog.yaml')] });
  try {
    const expiresAt = new Map<string, number>();
    for (let i = 0; i < grants; i++) {
      // Granted at once; durations 8 s .. 8 s + grants/2 s, two per second.
      const request = await client.core.request({ systemId: `wipe-${i}`, durationSeconds: 8 + Math.floor(i / 2), reason: 'bench' });
      expiresAt.set(request.id, 0);
    }
    while (client.core.getState().grants.filter((g) => expiresAt.has(g.requestId)).length < grants) await new Promise((r) => setTimeout(r, 20));
    for (const g of client.core.getState().grants) if (expiresAt.has(g.requestId)) expiresAt.set(g.grantId, Date.parse(g.expiresAt));
    const last = Math.max(...expiresAt.values());
    while (Date.now() < last + 3000) await new Promise((r) => setTimeout(r, 200));
    const lateness = client.notices
      .filter((n): n is { at: number; notice: Extract<typeof n.notice, { kind: 'grant-wiped' }> } => n.notice.kind === 'grant-wiped' && n.notice.reason === 'expired')
      .filter((n) => expiresAt.has(n.notice.grantId))
      .map((n) => n.at - expiresAt.get(n.notice.grantId)!);
    if (lateness.length !== grants) throw new Error(`only ${lateness.length} of ${grants} grants were wiped`);
    return latencyFigures('client_wipe_lateness_ms', `client wipe after the deadline over ${grants} grants`, lateness, [50, 99]);
  } finally {
    await client.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchWipeLateness(), null, 2));
  process.exit(0);
}
