// One folder for the whole run: every stack, agent and server the journeys start lives under
// it, so the after-journeys checks can scan everything they left for secrets.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCREENSHOTS } from './stack';

export default function globalSetup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'stint-e2e-'));
  process.env.STINT_E2E_ROOT = root;
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return () => {
    if (process.env.STINT_E2E_KEEP !== '1') rmSync(root, { recursive: true, force: true });
  };
}
