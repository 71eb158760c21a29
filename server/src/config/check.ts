import { readFileSync } from 'node:fs';
import { builtInProviders } from '../providers/registry';
import { ProviderSettingsError, providerProblemKey, type ProviderRegistry } from '../providers/provider';
import { ConfigError, loadConfigFile, yamlLines } from './load';
import type { ServerConfig } from './schema';

/**
 * A config file checked as the server will use it: the schema, then every system's provider
 * settings (secrets resolved, templates parsed), each problem with its key and line in FILE.
 * `check-config`, `serve` and a SIGHUP reload all go through here.
 */
export function checkConfigFile(file: string, registry: ProviderRegistry = builtInProviders()): ServerConfig {
  const config = loadConfigFile(file);
  try {
    registry.configure(config.systems);
  } catch (error) {
    if (!(error instanceof ProviderSettingsError)) throw error;
    const lineOf = yamlLines(readFileSync(file, 'utf8'));
    throw new ConfigError(
      file,
      error.problems.map((p) => `${providerProblemKey(p)} (line ${lineOf(['systems', p.index, 'provider', p.key])}): ${p.message}`),
    );
  }
  return config;
}
