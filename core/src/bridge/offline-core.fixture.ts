// A real StintCore that never signs in, on in-memory stores (named test doubles: these tests
// are about the bridges, not the vault), holding one active grant with a real secret, as after
// an activation. Shared by the dispatcher, socket and web-bridge tests.
import { join } from 'node:path';
import { StintCore } from '../core';
import { runtimePaths } from '../runtime/paths';
import { MemoryStore } from '../settings/store';
import { MemorySecretStore } from '../vault/secret-store';

export const GRANT_ID = '5d1c2a9e-0f4b-4c8e-9a51-7f0b3e2d6c11';
export const REQUEST_ID = '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a';
export const PASSWORD = 'pg-password-Zq8-never-in-the-ui';

export async function offlineCoreWithGrant(dir: string): Promise<StintCore> {
  const core = new StintCore({
    opener: { open: () => Promise.reject(new Error('these tests never sign in')) },
    secrets: new MemorySecretStore(),
    store: new MemoryStore(),
    paths: runtimePaths({ STINT_RUNTIME_DIR: join(dir, 'run') }),
    manualClock: true,
  });
  await core.vault.store(
    {
      grantId: GRANT_ID,
      requestId: REQUEST_ID,
      systemId: 'orders-db',
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      envNames: ['PGUSER', 'PGPASSWORD'],
      hasSshKey: false,
    },
    { env: { PGUSER: 'stint_alice', PGPASSWORD: PASSWORD }, fields: { password: PASSWORD } },
  );
  return core;
}
