// The whole of Stint for the journeys, started once per test worker and shared by the journeys
// the way a team shares one deployment: the approval server in dev mode (its built-in OpenID
// Provider, SQLite), a real PostgreSQL that prod-db mints roles on, a real sshd trusting the
// server's SSH CA, and three people's `stint agent`s, each with its own keychain service in
// the real Secret Service and its own ssh-agent. Nothing is mocked between the parts.
import { test as base, expect, type Browser, type Page } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SocketClient } from '../cli/src/socket-client';
import { startAgent, type Agent } from '../test-support/agent';
import { stopWithThisProcess } from '../test-support/children';
import { idpLoginOpener } from '../test-support/browser';
import { startDevServer, type DevServer } from '../test-support/dev-server';
import { startPostgresCluster, type PostgresCluster } from '../test-support/postgres';
import { startRedis, type RedisServer } from '../test-support/redis';
import { startSshd, type RunningSshd } from '../test-support/sshd';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Screenshots of each journey's key moments (README: "End-to-end journeys"). */
export const SCREENSHOTS = join(REPO, 'e2e/artifacts/screenshots/journeys');

export type PersonName = 'alice' | 'bob' | 'carol';

/** The demo catalog plus one system whose pending requests expire in seconds (journey 4). */
/** The journeys' own systems beside the demo catalog; `adminUrlFile` holds the Redis admin's URL (0600). */
const catalog = (adminUrlFile: string) => `systems:
  - id: quick-review
    name: Quick review
    description: Pending requests expire after 15 seconds, so expiry can be watched.
    risk: low
    provider: { type: demo, settings: { envVar: QUICK_REVIEW_TOKEN } }
    durations: { presets: [5m], max: 15m }
    requesters: [engineering]
    approvers: [sre-leads]
    approvalsRequired: 1
    justification: optional
    pendingTtl: 15s
  - id: session-cache
    name: Session cache
    description: Read-only access to the sessions in Redis, as a user of your own.
    risk: medium
    provider: { type: redis, settings: { adminUrl: { file: ${JSON.stringify(adminUrlFile)} }, keys: ['session:*'] } }
    durations: { presets: [5m, 15m], max: 1h }
    requesters: [engineering]
    approvers: [sre-leads]
    approvalsRequired: 1
    justification: optional
`;

export interface Decision {
  stack: string;
  requestId: string;
  decision: 'approve' | 'deny';
  reviewer: PersonName;
}

export interface Stack {
  dir: string;
  cluster: PostgresCluster;
  server: DevServer;
  sshd: RunningSshd;
  /** The Redis behind session-cache (the redis provider's target). */
  redis: RedisServer;
  people: Record<PersonName, Agent>;
  sshAgentSockets: Record<PersonName, string>;
  /** Remembers an issued secret, for the scan after the journeys. */
  remember(secret: string): void;
  /** A reviewer decides through their own `stint`, and the decision is kept for the audit check. */
  review(reviewer: PersonName, requestId: string, decision: 'approve' | 'deny', comment?: string): { status: number | null; stdout: string; stderr: string };
  /** Refuses nothing: calls a person's local socket as their UI or CLI would, returning its error. */
  callAgent(person: PersonName, method: string, input: unknown): Promise<{ ok: boolean; message: string }>;
  /** The host's KRL timer: fetch /v1/ssh/krl and replace sshd's RevokedKeys atomically. */
  refreshKrl(): Promise<void>;
  /** Signs a person in through the IdP's login page (their `stint login`, the test's browser). */
  signIn(person: PersonName): Promise<void>;
  /** Signs in only when not signed in already (a journey run alone, or after journey 8). */
  ensureSignedIn(person: PersonName): Promise<void>;
  /** Opens a URL the way the person's system browser would: in the browser they signed in with. */
  openInBrowser(person: PersonName, url: string): Promise<Page>;
}

export const run = {
  root: (): string => {
    const root = process.env.STINT_E2E_ROOT;
    if (!root) throw new Error('STINT_E2E_ROOT is not set: run the journeys with `npx playwright test -c e2e` (its global setup makes it)');
    return root;
  },
  secretsFile: () => join(run.root(), 'secrets.txt'),
  decisionsFile: () => join(run.root(), 'decisions.jsonl'),
};

export async function snap(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 15_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleepUntil = (epochMs: number) => new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));

export interface LocalGrantJson {
  grantId: string;
  requestId: string;
  systemId: string;
  expiresAt: string;
  envNames: string[];
  stored: boolean;
  inAgent: boolean;
}

export function stintJson<T>(agent: Agent, args: string[]): T {
  const result = agent.stint([...args, '--json']);
  if (result.status !== 0) throw new Error(`stint ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Waits until the person's app holds an active, stored grant for the request. */
export function grantFor(agent: Agent, requestId: string, ms = 15_000): Promise<LocalGrantJson> {
  return until(`a stored grant for request ${requestId}`, () => stintJson<LocalGrantJson[]>(agent, ['grants']).find((g) => g.requestId === requestId && g.stored), ms);
}

/**
 * A demo-sandbox grant (approved at once) for the person, held in their app, its token kept for
 * the scan after the journeys.
 */
export async function sandboxGrant(stack: Stack, agent: Agent, duration: string, reason: string): Promise<{ requestId: string; grant: LocalGrantJson }> {
  const request = stintJson<{ id: string }>(agent, ['request', 'demo-sandbox', '--for', duration, '--reason', reason]);
  const grant = await grantFor(agent, request.id);
  stack.remember(stintJson<Record<string, string>>(agent, ['env', 'demo-sandbox']).SANDBOX_TOKEN!);
  return { requestId: request.id, grant };
}

/** What `secret-tool` (libsecret, not Stint) finds in the person's keychain. */
export function keychainLookup(agent: Agent, account: string): string | null {
  const result = spawnSync('secret-tool', ['lookup', 'service', agent.keychainService, 'username', account], { encoding: 'utf8' });
  return result.status === 0 && result.stdout ? result.stdout : null;
}

/** Every item the keychain holds for the person's Stint (secret-tool search --all). */
export function keychainItems(agent: Agent): string[] {
  const result = spawnSync('secret-tool', ['search', '--all', 'service', agent.keychainService], { encoding: 'utf8' });
  return [...`${result.stdout}\n${result.stderr}`.matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]!);
}

/** Waits for a notice line in the agent's log (core's notifier in `stint agent`). */
export function notified(agent: Agent, pattern: RegExp, ms = 15_000): Promise<string> {
  return until(`notice ${pattern} in the agent's log`, () => pattern.exec(agent.output())?.[0], ms);
}

/** The person's Stint UI in the browser (web mode), at a fresh one-time address (`stint ui --print`). */
export async function openUi(browser: Browser, agent: Agent, options: { beforeLoad?: (page: Page) => Promise<unknown> } = {}): Promise<Page> {
  const url = await agent.webLink();
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await options.beforeLoad?.(page);
  await page.goto(url);
  return page;
}

/** Another tab of the same browser session (its cookie), at a route: `#/tray` is the popover's page. */
export async function openTab(page: Page, hash: string, viewport = { width: 360, height: 520 }): Promise<Page> {
  const tab = await page.context().newPage();
  await tab.setViewportSize(viewport);
  await tab.goto(`${page.url().replace(/#.*$/, '')}${hash}`);
  return tab;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
interface AxeResult {
  violations: { id: string; help: string; nodes: { target: unknown[] }[] }[];
}

/** axe-core's WCAG 2.1 A/AA and best-practice findings on the page as it is now, one line each. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() =>
    (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResult> } }).axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
    }),
  );
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/**
 * Someone beyond the stack's three, with their own `stint agent` serving the web UI, signed in
 * through the IdP page by the login script (Dana: admin and auditor, for the Insights screen).
 * The journey stops it when done.
 */
export async function startPersonAgent(stack: Stack, user: string): Promise<Agent> {
  const home = join(stack.dir, user);
  mkdirSync(home, { recursive: true });
  const agent = await startAgent({ serverUrl: stack.server.serverUrl, user, dir: home, web: true });
  const login = await agent.stintAsync(['login'], { timeoutMs: 60_000 });
  expect(login.status, login.stderr).toBe(0);
  const refresh = keychainLookup(agent, 'session:refresh-token');
  if (refresh) stack.remember(refresh.trim());
  return agent;
}

function startSshAgent(socket: string): ChildProcess {
  return stopWithThisProcess(spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' }));
}

async function preparePostgres(cluster: PostgresCluster): Promise<void> {
  // Grants log in with a password, as production must (VALID UNTIL binds password logins only);
  // the server's own admin connection stays trusted.
  writeFileSync(join(cluster.socketDir, 'data', 'pg_hba.conf'), 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query('select pg_reload_conf()');
  await admin.query('create table if not exists orders (id int primary key, total numeric)');
  await admin.query('insert into orders values (1, 42.00) on conflict do nothing');
  await admin.end();
}

export const test = base.extend<object, { stack: Stack }>({
  stack: [
    async ({ browser }, use, workerInfo) => {
      const dir = join(run.root(), `stack-${workerInfo.workerIndex}`);
      mkdirSync(dir, { recursive: true });
      const redis = await startRedis();
      redis.cli(['SET', 'session:42', 'alice@checkout']);
      const adminUrlFile = join(dir, 'redis-admin-url');
      writeFileSync(adminUrlFile, `${redis.adminUrl}\n`, { mode: 0o600 });
      writeFileSync(join(dir, 'catalog.yaml'), catalog(adminUrlFile));
      const cluster = await startPostgresCluster({ name: 'e2e' });
      await preparePostgres(cluster);
      const server = await startDevServer({
        dataDir: join(dir, 'server'),
        args: ['--catalog', join(dir, 'catalog.yaml')],
        logLevel: 'info',
        env: { STINT_DEV_POSTGRES_URL: cluster.adminUrl },
      });
      // The host trusts the server's CA and maps alice's certificate principal onto its account.
      const sshd = await startSshd({ caPublicKey: readFileSync(join(server.dataDir, 'ssh-ca.pub'), 'utf8'), principals: ['alice', 'bob'] });
      const sshAgents: ChildProcess[] = [];
      const sshAgentSockets = {} as Record<PersonName, string>;
      const people = {} as Record<PersonName, Agent>;
      for (const name of ['alice', 'bob', 'carol'] as const) {
        const home = join(dir, name);
        mkdirSync(home, { recursive: true });
        sshAgentSockets[name] = join(home, 'ssh-agent.sock');
        sshAgents.push(startSshAgent(sshAgentSockets[name]));
        await until('ssh-agent socket', () => existsSync(sshAgentSockets[name]), 5000, 20);
        people[name] = await startAgent({
          serverUrl: server.serverUrl,
          user: name,
          dir: home,
          web: name !== 'carol',
          browser: 'hand-off',
          env: { SSH_AUTH_SOCK: sshAgentSockets[name] },
        });
      }
      const decisions: Decision[] = [];
      // The browser context each person signed in with holds their session at the IdP.
      const signInPages = new Map<PersonName, Page>();
      const stack: Stack = {
        dir,
        cluster,
        server,
        sshd,
        redis,
        people,
        sshAgentSockets,
        remember(secret) {
          if (secret.length >= 8) appendFileSync(run.secretsFile(), `${JSON.stringify(secret)}\n`);
        },
        review(reviewer, requestId, decision, comment) {
          const result = people[reviewer].stint([decision, requestId, ...(comment ? ['--comment', comment] : [])]);
          if (result.status === 0) {
            const entry: Decision = { stack: dir, requestId, decision, reviewer };
            decisions.push(entry);
            appendFileSync(run.decisionsFile(), `${JSON.stringify(entry)}\n`);
          }
          return result;
        },
        async callAgent(person, method, input) {
          const client = await SocketClient.connect(join(people[person].dir, 'run', 'stint.sock'));
          try {
            await client.call(method as never, input as never);
            return { ok: true, message: '' };
          } catch (error) {
            return { ok: false, message: (error as Error).message };
          } finally {
            client.close();
          }
        },
        async refreshKrl() {
          const response = await fetch(`${server.serverUrl}/v1/ssh/krl`);
          expect(response.status).toBe(200);
          await sshd.writeKrl(Buffer.from(await response.arrayBuffer()));
        },
        async signIn(person) {
          const agent = people[person];
          const login = agent.stintAsync(['login']);
          const url = await agent.nextBrowserUrl();
          const opener = idpLoginOpener(browser, person);
          await opener.open(url);
          signInPages.set(person, opener.lastPage()!);
          const result = await login;
          expect(result.status, result.stderr).toBe(0);
          expect(result.stdout).toMatch(/^Signed in as/);
          const refresh = keychainLookup(agent, 'session:refresh-token');
          if (refresh) stack.remember(refresh.trim());
        },
        async ensureSignedIn(person) {
          const { auth } = stintJson<{ auth: { status: string } }>(people[person], ['status']);
          if (auth.status !== 'signed-in') await stack.signIn(person);
        },
        async openInBrowser(person, url) {
          const signedIn = signInPages.get(person);
          const page = signedIn ? await signedIn.context().newPage() : await browser.newPage();
          await page.goto(url);
          return page;
        },
      };
      // Bearer tokens the journeys send to the server themselves (stack.server.api): a log line
      // with an Authorization header would show one, so they are looked for too.
      for (const user of ['alice', 'bob', 'dana']) stack.remember(server.token(user));
      await stack.signIn('bob');
      await stack.signIn('carol');
      await use(stack);
      for (const agent of Object.values(people)) await agent.stop();
      for (const sshAgent of sshAgents) sshAgent.kill();
      await sshd.stop();
      await server.stop();
      await cluster.destroy();
      await redis.destroy();
    },
    { scope: 'worker', timeout: 120_000 },
  ],
});

export { expect };
