// One PostgreSQL cluster for the whole test run; each test file makes its own database on
// it with createDatabase(inject('pgAdminUrl')), which costs milliseconds, not a cluster.
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://postgres@127.0.0.1:PORT/postgres of the run's shared cluster. */
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  const cluster = await startPostgresCluster({ name: 'vitest' });
  console.log(`[global-setup] PostgreSQL on port ${cluster.port} in ${Math.round(performance.now() - started)} ms`);
  project.provide('pgAdminUrl', cluster.adminUrl);

  // Ctrl-C: vitest exits without awaiting the teardown below; postgres.ts then stops the
  // cluster from its 'exit' hook, or its watchdog does if the process is killed outright.
  return async () => {
    await cluster.destroy();
  };
}
