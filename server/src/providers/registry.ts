import { demoProvider } from './demo';
import { postgresProvider } from './postgres';
import { ProviderRegistry } from './provider';
import { redisProvider } from './redis';
import { sshProvider } from './ssh';
import { webhookProvider } from './webhook';

/** Every provider this server ships, by the `type` a system's config names. */
export function builtInProviders(): ProviderRegistry {
  return new ProviderRegistry().register('demo', demoProvider).register('webhook', webhookProvider).register('postgres', postgresProvider).register('ssh', sshProvider).register('redis', redisProvider);
}
