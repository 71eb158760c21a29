/**
 * approval_to_keychain_ms: from an approver's review call until the requester's credential is
 * in the OS keychain (SSE to core, credential fetch, verified keychain write), over loopback,
 * against the dev server and the real Secret Service. Run alone (needs a keyring session):
 *   dbus-run-session -- bash scripts/with-keyring.sh npx tsx bench/approval-latency.ts [--runs 40]
 */
import { parseArgs } from 'node:util';
import { signedInClient } from './client';
import { isMain, percentile } from './processes';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });

export async function benchApprovalLatency(runs = Number(values.runs)) {
  const { core, dev, stop } = await signedInClient('alice');
  try {
    const samples: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const request = await core.request({ systemId: 'staging-db', durationSeconds: 900, reason: 'bench' });
      const stored = new Promise<number>((resolve) => {
        const off = core.subscribe((state) => {
          if (state.grants.some((g) => g.requestId === request.id)) {
            off();
            resolve(performance.now());
          }
        });
      });
      const started = performance.now();
      const review = await dev.api('bob', 'POST', `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
      if (review.status !== 200) throw new Error(`review answered ${review.status}`);
      const elapsed = (await stored) - started;
      if (i >= 3) samples.push(elapsed); // the first runs warm up JIT and connections
      await core.release(review.body.grant.id);
    }
    const p50 = percentile(samples, 50);
    const p95 = percentile(samples, 95);
    console.log(`approval_to_keychain_ms over ${samples.length} runs: p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`);
    return {
      approval_to_keychain_ms_p50: { value: Number(p50.toFixed(1)), unit: 'ms' },
      approval_to_keychain_ms_p95: { value: Number(p95.toFixed(1)), unit: 'ms' },
    };
  } finally {
    await stop();
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchApprovalLatency(), null, 2));
  process.exit(0);
}
