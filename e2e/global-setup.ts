// One folder for the whole run: every stack, agent and server the journeys start lives under
// it, so the after-journeys checks can scan everything they left for secrets.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCREENSHOTS } from './stack';

export default function globalSetup(): () => void {
  // The agents serve the UI as built now, not a build left over from before a change.
  console.log('e2e: building the renderer');
  execFileSync('npm', ['run', 'build', '-w', '@stint/renderer'], { stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production' } });
  const root = mkdtempSync(join(tmpdir(), 'stint-e2e-'));
  process.env.STINT_E2E_ROOT = root;
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return () => {
    if (process.env.STINT_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
  };
}
