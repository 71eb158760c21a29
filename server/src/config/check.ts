import { readFileSync } from 'node:fs';
import { builtInProviders } from '../providers/registry';
import { ProviderSettingsError, providerProblemKey, type ProviderRegistry } from '../providers/provider';
import { ConfigError, loadConfigFile, yamlLines } from './load';
import { onCallSourceProblems } from '../oncall';
import type { ServerConfig } from './schema';

/** How long check-config waits for one system before saying it did not answer. */
const PROBE_TIMEOUT_MS = 20_000;

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

export interface ProbeReport {
  /** Systems whose provider reached them, by id. */
  reached: string[];
  /** What went wrong for the others, each with its key and line in FILE. */
  problems: string[];
}

/**
 * check-config's last step, after checkConfigFile: every system whose provider can check its
 * connection (`probe`) is reached as issue and revoke would, all at once, each within a time
 * limit. Never part of `serve` or a reload: a target that is down must not stop the server
 * starting (its grants wait and retry instead).
 */
export async function probeConfigFile(file: string, config: ServerConfig, registry: ProviderRegistry = builtInProviders(), timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeReport> {
  const providers = registry.configure(config.systems);
  let lineOf: ((path: readonly PropertyKey[]) => number) | undefined;
  const line = (path: readonly PropertyKey[]) => (lineOf ??= yamlLines(readFileSync(file, 'utf8')))(path);
  const report: ProbeReport = { reached: [], problems: [] };
  try {
    await Promise.all(
      config.systems.map(async (system, index) => {
        const provider = providers.get(system.id);
        if (!provider?.probe) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        });
        try {
          await Promise.race([provider.probe(), late]);
          report.reached.push(system.id);
        } catch (error) {
          const path = ['systems', index, 'provider'];
          report.problems.push(`systems.${system.id}.provider (line ${line(path)}): ${(error as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  } finally {
    await Promise.all([...providers.values()].map((p) => p.close?.().catch(() => undefined)));
  }
  return report;
}
