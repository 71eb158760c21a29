// The commands a shell runs often — `stint --version`, `stint status`, `stint env` (the prompt
// hook's one call when grants change) and `stint ls --json` — with nothing loaded that they do
// not use: no commander, no zod (which alone takes longer to load than Node takes to start).
// entry.ts runs them directly for the plain forms of their arguments; main.ts's commands call
// the same functions, so both ways behave the same. The replies are checked field by field for
// what these commands read, instead of with the contract's schemas.
import { runtimePaths, runtimeProblem, type RuntimePaths } from '@stint/node-shared/runtime-folder';
import { safeJson, visibleText, waitingSentence } from '@stint/contract/plain';
import type { CoreState, GrantEnv, LocalGrant } from '@stint/contract';
import { CliError, EXIT, exitFor } from './errors';
import { grantsTable } from './format';
import { bootEpochSeconds, grantVariables, renderEnv, SHELLS, type Shell } from './shell';
import { SocketWire } from './socket-wire';
import { VERSION } from './version';

/**
 * Output for people or for programs. Threat: text someone else wrote (a reason, a name from the
 * IdP) reaching the terminal raw, where escapes rewrite the screen; so text goes out with its
 * controls made visible (tables escape newlines too), and JSON with bidi characters escaped.
 */
export const print = (json: boolean | undefined, data: unknown, text: () => string) => console.log(json ? safeJson(data, 2) : visibleText(text(), { multiline: true }));
/** One value someone else wrote, inside a sentence: escapes even newlines. */
export const v = (text: string | null | undefined) => visibleText(text ?? '');

/** The runtime folder, refused when it is not this user's own (runtimeProblem names the threat). */
export function trustedRuntime(): RuntimePaths {
  const paths = runtimePaths();
  const problem = runtimeProblem(paths);
  if (problem) throw new CliError(problem, EXIT.unsafeRuntime, 'unsafe_runtime');
  return paths;
}

/**
 * A connection to the app's local socket in the user's own runtime folder, checked again once
 * connected: a folder someone created between the first check and the connect (when there was
 * none) is refused before anything is asked or answered. `open` is SocketWire's or SocketClient's.
 */
export async function withRuntimeSocket<C extends { close(): void }, T>(open: (socket: string) => Promise<C>, work: (connection: C) => Promise<T>): Promise<T> {
  const paths = trustedRuntime();
  const connection = await open(paths.socket);
  try {
    const problem = runtimeProblem(paths);
    if (problem) throw new CliError(problem, EXIT.unsafeRuntime, 'unsafe_runtime');
    return await work(connection);
  } finally {
    connection.close();
  }
}

type Call = (method: string, input: unknown) => Promise<unknown>;

/** The quick commands' calls: the reply's result, or its error as a CliError. */
const withWire = <T>(work: (call: Call) => Promise<T>): Promise<T> =>
  withRuntimeSocket(SocketWire.connect, (wire) =>
    work(async (method, input) => {
      const reply = await wire.send(method, input);
      if (!reply.ok) throw new CliError(reply.error!.message, exitFor(reply.error!), reply.error!.code);
      return reply.result;
    }),
  );

// ---- the fields these commands read, checked ------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isTime = (value: unknown): value is string => isString(value) && !Number.isNaN(Date.parse(value));
const strangeReply = (what: string) =>
  new CliError(`Stint answered ${what} in a form this stint does not understand; are the app and the CLI the same version? (stint --version)`, EXIT.failed, 'bad_reply');

function grantEnvs(result: unknown): GrantEnv[] {
  const grants = isObject(result) ? result.grants : undefined;
  const ok =
    Array.isArray(grants) &&
    grants.every((g) => isObject(g) && isString(g.grantId) && isString(g.systemId) && isTime(g.expiresAt) && isObject(g.env) && Object.values(g.env).every(isString));
  if (!ok) throw strangeReply('the variables');
  return grants as GrantEnv[];
}

const isLocalGrant = (g: unknown) => isObject(g) && isString(g.grantId) && isString(g.systemId) && isTime(g.expiresAt) && Array.isArray(g.envNames) && g.envNames.every(isString);

function stateView(result: unknown): CoreState {
  const auth = isObject(result) ? result.auth : undefined;
  const ok =
    isObject(result) &&
    isObject(auth) &&
    isString(auth.status) &&
    (auth.user === null || (isObject(auth.user) && isString(auth.user.sub))) &&
    (auth.message === null || isString(auth.message)) &&
    isString(result.serverUrl) &&
    isString(result.connection) &&
    Array.isArray(result.grants) &&
    result.grants.every(isLocalGrant) &&
    Array.isArray(result.reviewQueue) &&
    Array.isArray(result.systems) &&
    result.systems.every((s) => isObject(s) && isString(s.id));
  if (!ok) throw strangeReply('its state');
  return result as CoreState;
}

// ---- the commands ---------------------------------------------------------------------------

export interface EnvOptions {
  shell: Shell | 'json';
  previous: string;
  json?: boolean | undefined;
  hook?: boolean | undefined;
}

/** `stint env`: the variables of active grants, for a shell to eval (or as JSON). */
export async function envCommand(systems: string[], o: EnvOptions): Promise<void> {
  const previous = o.previous.split(/\s+/).filter(Boolean);
  let grants: GrantEnv[];
  try {
    grants = await withWire(async (call) => grantEnvs(await call('env', { systems })));
  } catch (error) {
    // The app quit (or crashed) since the last prompt: its credentials leave the shell too.
    if (!(o.hook && error instanceof CliError && error.exit === EXIT.noAgent && o.shell !== 'json')) throw error;
    grants = [];
  }
  const vars = grantVariables(grants);
  if (o.json || o.shell === 'json') console.log(safeJson(Object.fromEntries(vars), 2));
  else process.stdout.write(renderEnv(o.shell, vars, previous, o.shell === 'fish' ? bootEpochSeconds() : undefined));
}

/** `stint status`: who is signed in, the connection, active grants. */
export async function statusCommand(json: boolean | undefined): Promise<void> {
  const state = await withWire(async (call) => stateView(await call('getState', {})));
  print(json, { auth: state.auth, connection: state.connection, serverUrl: state.serverUrl, grants: state.grants, waiting: state.waiting ?? [] }, () =>
    [
      state.auth.status === 'signed-in'
        ? `Signed in as ${v(state.auth.user?.name ?? state.auth.user?.sub)} at ${state.serverUrl} (${state.connection}).`
        : `Not signed in${state.auth.status === 'sign-in-needed' ? ' (the session ended)' : ''} to ${state.serverUrl}; run \`stint login\`.${state.auth.message ? ` ${v(state.auth.message)}` : ''}`,
      state.grants.length ? grantsTable(state.grants as LocalGrant[]) : 'No active grants.',
      ...(Array.isArray(state.waiting) ? state.waiting : []).map((w) => waitingSentence(w, v)),
      state.reviewQueue.length ? `${state.reviewQueue.length} request(s) wait for your review: stint requests` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** `stint ls --json` and `--ids` (the table, which explains each policy, is main.ts's). */
export async function systemsCommand(o: { json?: boolean | undefined; ids?: boolean | undefined }): Promise<void> {
  const { systems } = await withWire(async (call) => stateView(await call('getState', {})));
  if (o.ids) {
    if (systems.length > 0) console.log(systems.map((s) => s.id).join('\n'));
    return;
  }
  console.log(safeJson(systems, 2));
}

/** `stint env`'s options, when they are all plain ones; null sends the line to the full parser. */
function envArguments(args: string[]): { systems: string[]; options: EnvOptions } | null {
  const options: EnvOptions = { shell: 'bash', previous: '' };
  const systems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? args[++i];
    if (flag === '--shell') {
      const shell = value();
      if (!shell || ![...SHELLS, 'json'].includes(shell)) return null;
      options.shell = shell as Shell | 'json';
    } else if (flag === '--previous') {
      const previous = value();
      if (previous === undefined) return null;
      options.previous = previous;
    } else if (flag === '--json' && inline === undefined) options.json = true;
    else if (flag === '--hook' && inline === undefined) options.hook = true;
    else if (!arg.startsWith('-')) systems.push(arg);
    else return null;
  }
  return { systems, options };
}

/**
 * Runs a quick command when the arguments are one of the plain forms above; null when they are
 * anything else (help, a typo, another command), which main.ts's full parser then answers.
 */
export function quickCommand(argv: string[]): (() => Promise<void>) | null {
  const [command, ...rest] = argv;
  if ((command === '--version' || command === '-V') && rest.length === 0) return async () => console.log(VERSION);
  if (command === 'status' && (rest.length === 0 || (rest.length === 1 && rest[0] === '--json'))) return () => statusCommand(rest[0] === '--json');
  if (command === 'ls' && rest.length === 1 && (rest[0] === '--json' || rest[0] === '--ids')) return () => systemsCommand({ json: rest[0] === '--json', ids: rest[0] === '--ids' });
  if (command === 'env') {
    const parsed = envArguments(rest);
    if (parsed) return () => envCommand(parsed.systems, parsed.options);
  }
  return null;
}
