import { readFileSync } from 'node:fs';
import { builtInProviders } from '../providers/registry';
import { ProviderSettingsError, providerProblemKey, type ProviderRegistry } from '../providers/provider';
import { ConfigError, loadConfigFile, yamlLines } from './load';
import { onCallSourceProblems } from '../oncall';
import type { ServerConfig } from './schema';

/**
 * A config file checked as the server will use it: the schema, then every system's provider
 * settings (secrets resolved, templates parsed) and every on-call source's secret and rota file,
 * each problem with its key and line in FILE.
 * `check-config`, `serve` and a SIGHUP reload all go through here.
 */
export function checkConfigFile(file: string, registry: ProviderRegistry = builtInProviders(), env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config = loadConfigFile(file);
  const problems: string[] = [];
  let lineOf: ((path: readonly PropertyKey[]) => number) | undefined;
  const line = (path: readonly PropertyKey[]) => (lineOf ??= yamlLines(readFileSync(file, 'utf8')))(path);
  try {
    registry.configure(config.systems);
  } catch (error) {
    if (!(error instanceof ProviderSettingsError)) throw error;
    problems.push(...error.problems.map((p) => `${providerProblemKey(p)} (line ${line(['systems', p.index, 'provider', p.key])}): ${p.message}`));
  }
  // A source whose token cannot be read would turn every on-call request into a review; say so now.
  for (const p of onCallSourceProblems(config.onCall, env)) {
    const path = ['onCall', 'sources', p.name, p.key];
    problems.push(`${path.join('.')} (line ${line(path)}): ${p.message}`);
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}
