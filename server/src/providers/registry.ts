import { bundleProvider } from './bundle';
import { demoProvider } from './demo';
import { ldapGroupProvider } from './ldap-group';
import { mariadbProvider } from './mariadb';
import { postgresProvider } from './postgres';
import { ProviderRegistry } from './provider';
import { redisProvider } from './redis';
import { sshProvider } from './ssh';
import { webhookProvider } from './webhook';

/** Every provider this server ships, by the `type` a system's config names. */
export function builtInProviders(): ProviderRegistry {
  const registry = new ProviderRegistry();
  // A bundle builds its members' providers through this same registry.
  return registry
    .register('bundle', bundleProvider(registry))
    .register('demo', demoProvider)
    .register('webhook', webhookProvider)
    .register('postgres', postgresProvider)
    .register('ssh', sshProvider)
    .register('redis', redisProvider)
    .register('mariadb', mariadbProvider)
    .register('ldap-group', ldapGroupProvider);
}
