import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Provider, ProviderFactory } from './provider';

const DemoSettings = z.strictObject({
  /** The variable the token is exported as; defaults to STINT_DEMO_TOKEN. */
  envVar: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an upper-case environment variable name').default('STINT_DEMO_TOKEN'),
});

/**
 * A random bearer token that nothing outside Stint honours: it lets the whole flow run with no
 * external system. The token is unusable by construction, so "revoke" has nothing to undo.
 */
export const demoProvider: ProviderFactory = (system) => {
  const parsed = DemoSettings.safeParse(system.provider.settings);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const { envVar } = parsed.data;
  const provider: Provider = {
    type: 'demo',
    needsPublicKey: false,
    async issue(input) {
      const token = `stint_demo_${randomBytes(24).toString('base64url')}`;
      return {
        fields: { token, system: input.system.id },
        env: { [envVar]: token },
        state: { tokenSuffix: token.slice(-4) },
      };
    },
    async revoke() {},
  };
  return provider;
};
