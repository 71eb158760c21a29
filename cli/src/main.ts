#!/usr/bin/env node
import { bundleMembersText, formatDuration, grantConnectLines, waitingSentence, matchId, parseDuration, shortId, visibleText, type AccessRequest, type CoreState, type SystemView } from '@stint/contract';
import { runtimePaths } from '@stint/node-shared/runtime-folder';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from './completion';
import { childEnv, ExecError, run } from './exec';
import { grantsTable, requestsTable, systemsTable } from './format';
import { promptSegment } from './prompt';
import { parseStartAt } from './start-at';
import { grantVariables, hookScript, promptFunction, SHELLS, type Shell } from './shell';
import { envCommand, print, statusCommand, systemsCommand, trustedRuntime, v, withRuntimeSocket, type EnvOptions } from './quick';
import { CliError, EXIT, SocketClient } from './socket-client';
import { VERSION } from './version';

const EXIT_CODES = `Exit codes:
  0 ok   1 failed   2 bad usage   3 not found (system, request, grant)
  4 refused by policy   5 Stint is not running   6 not signed in   7 timed out (--wait)
  8 Stint's runtime folder is not safe to use (another user's, a link, or writable by others)
  127 stint exec: the command was not found`;

const duration = (text: string) => {
  const seconds = parseDuration(text);
  if (seconds === null) throw new InvalidArgumentError('write a duration like 90s, 15m or 1h30m');
  return seconds;
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const withSocket = <T>(work: (client: SocketClient) => Promise<T>): Promise<T> => withRuntimeSocket(SocketClient.connect, work);

/** A request by full id or the characters lists show (its short id); several matches are listed. */
/** How it was decided, when not the ordinary way: approved for less, or at once because you are on call. */
export function grantedHow(request: AccessRequest): string {
  const parts = [
    ...(request.askedSeconds ? [`approved for less: you asked ${formatDuration(request.askedSeconds)}`] : []),
    ...(request.autoApprovedBy ? [`approved at once: you are on call (${v(request.autoApprovedBy.source)} schedule ${v(request.autoApprovedBy.schedule)})`] : []),
  ];
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function findRequest(requests: readonly AccessRequest[], id: string, whose = 'is waiting for you'): AccessRequest {
  const found = matchId(requests, id, (r) => r.id);
  if (found.ok) return found.item;
  if (found.matches.length === 0) throw new CliError(`No request ${v(id)} ${whose}; see \`stint requests\`.`, EXIT.notFound);
  const list = found.matches.map((r) => `  ${shortId(r.id)}  ${r.systemId} for ${formatDuration(r.durationSeconds)} by ${v(r.requester.name ?? r.requester.sub)}`).join('\n');
  throw new CliError(`${v(id)} matches ${found.matches.length} requests; give more characters:\n${list}`, EXIT.usage, 'ambiguous_id');
}

/**
 * The request command that would work for this system, every flag its policy needs included:
 * a hint that leaves out a required --ticket sends people into a second error.
 */
export function requestHint(systems: readonly SystemView[], systemId: string, wait = false): string {
  const system = systems.find((s) => s.id === systemId);
  const preset = system?.durationPresetsSeconds[0];
  const parts = [`stint request ${systemId} --for ${preset ? formatDuration(preset).replace(/\s+/g, '') : '30m'} --reason "..."`];
  if (system?.policy.ticketPattern) parts.push('--ticket <ticket>');
  if (wait) parts.push('--wait');
  return parts.join(' ');
}

const startAtOption = (text: string) => {
  const at = parseStartAt(text);
  if (at === null) throw new InvalidArgumentError('write a time like 22:00 (next occurrence), +2h, or 2026-12-03T22:00');
  return at;
};

/** What an approved request that waits says: how to start it, or when it starts by itself. */
export function waitingWords(state: Pick<CoreState, 'waiting'>, request: AccessRequest): string | null {
  const waiting = (state.waiting ?? []).find((w) => w.requestId === request.id);
  return waiting ? waitingSentence(waiting) : null;
}

/**
 * One of yours by system id, or by full or short id (each of `ids` tried in turn); none is an
 * error saying what to do, several are listed to choose from.
 */
function findOne<T extends { systemId: string }>(items: readonly T[], key: string, how: { ids: ((item: T) => string)[]; none: () => CliError; line: (item: T) => string; noun: string }): T {
  const bySystem = items.filter((item) => item.systemId === key);
  if (bySystem.length === 1) return bySystem[0]!;
  const [first, ...others] = how.ids.map((id) => matchId(items, key, id));
  if (first!.ok) return first!.item;
  for (const other of others) if (other.ok) return other.item;
  if (first!.matches.length === 0) throw how.none();
  throw new CliError(`${v(key)} matches ${first!.matches.length} ${how.noun}; give more characters:\n${first!.matches.map((m) => `  ${how.line(m)}`).join('\n')}`, EXIT.usage, 'ambiguous_id');
}

/** An approval waiting to be started, by system, full id or short id (grant or request). */
const findWaiting = (state: CoreState, key: string) =>
  findOne(state.waiting ?? [], key, {
    ids: [(w) => w.grantId, (w) => w.requestId],
    none: () => new CliError(`Nothing of yours for ${v(key)} waits to be started; see \`stint status\`.`, EXIT.notFound, 'not_waiting'),
    line: (w) => `${shortId(w.grantId)}  ${w.systemId} for ${formatDuration(w.durationSeconds)}`,
    noun: 'approvals',
  });

/** A grant by system, full id or short id; several matches are listed. */
const findGrant = (state: CoreState, key: string) =>
  findOne(state.grants, key, {
    ids: [(g) => g.grantId],
    none: () => new CliError(`You have no active grant for ${v(key)}; see \`stint grants\`, or request one: ${requestHint(state.systems, v(key))}`, EXIT.notFound, 'no_grant'),
    line: (g) => `${shortId(g.grantId)}  ${g.systemId} until ${g.expiresAt}`,
    noun: 'grants',
  });

/** `stint request --bundle <id>`: the id must name a bundle you may request (a system alone is named without --bundle). */
async function bundleNamed(c: SocketClient, id: string, positional: string | undefined): Promise<string> {
  if (positional && positional !== id) throw new CliError(`Name either a system (${v(positional)}) or a bundle (--bundle ${v(id)}), not both.`, EXIT.usage, 'usage');
  const { systems } = await c.call('getState', {});
  const bundles = systems.filter((s) => s.bundle?.length);
  const found = systems.find((s) => s.id === id);
  if (found?.bundle?.length) {
    console.error(`${v(found.name)} is a bundle: one request for ${v(bundleMembersText(found.bundle))}.`);
    return id;
  }
  const offered = bundles.length > 0 ? `bundles you may request: ${bundles.map((b) => v(b.id)).join(', ')}` : 'no bundle is offered to you';
  throw new CliError(found ? `${v(id)} is a single system, not a bundle: stint request ${v(id)} (${offered}).` : `No bundle ${v(id)} (${offered}; stint ls).`, EXIT.notFound, 'not_found');
}

export function program(): Command {
  const cli = new Command('stint')
    .description('Just-in-time access from your terminal. Talks to the running Stint app (or `stint agent`).')
    .version(VERSION, '-V, --version', 'the version of this stint')
    .addHelpText('after', `\n${EXIT_CODES}`)
    // A typo gets commander's suggestion and one line, not the whole help again.
    .showHelpAfterError('(`stint --help` lists every command)')
    .enablePositionalOptions()
    .exitOverride();

  cli
    .command('login')
    .description('sign in through your browser')
    .option('--cancel', 'end a sign-in that is waiting for the browser')
    .option('--client-secret-stdin', "keep the client secret your IdP wants from Stint's app (read from standard input) in the OS keychain, then sign in")
    .action((o: { cancel?: boolean; clientSecretStdin?: boolean }) =>
      withSocket(async (c) => {
        if (o.cancel) {
          await c.call('cancelSignIn', {});
          console.log('The sign-in was cancelled; run `stint login` to start again.');
          return;
        }
        if (o.clientSecretStdin) {
          // Never an argument: argv is visible to every local user (ps).
          const secret = (await readStdin()).trim();
          if (!secret) throw new CliError('No client secret on standard input; pipe it in, e.g. stint login --client-secret-stdin < secret.txt', EXIT.usage, 'invalid_input');
          await c.call('setClientSecret', { secret });
          console.error('The client secret is kept in the OS keychain.');
        }
        const signingIn = c.call('signIn', {});
        // The address too, for a browser that did not open, or one on another screen.
        let shown = false;
        const show = async () => {
          while (!shown) {
            const { auth } = await c.call('getState', {});
            if (auth.signInUrl) {
              console.error(`Finish signing in in your browser. If it did not open, open this address:\n  ${v(auth.signInUrl)}\n(Ctrl-C stops waiting here; \`stint login --cancel\` ends the sign-in.)`);
              shown = true;
            } else if (auth.status !== 'signing-in') return;
            else await new Promise((r) => setTimeout(r, 150));
          }
        };
        const showing = show().catch(() => undefined);
        try {
          await signingIn;
        } finally {
          shown = true;
          await showing;
        }
        const { auth } = await c.call('getState', {});
        console.log(`Signed in as ${v(auth.user?.name ?? auth.user?.sub)}.`);
      }),
    );
  cli.command('logout').description('sign out and wipe every credential from the keychain').action(() =>
    withSocket(async (c) => {
      await c.call('signOut', {});
      const { auth } = await c.call('getState', {});
      console.log('Signed out; every Stint credential was wiped from the keychain.');
      if (auth.message) console.log(v(auth.message));
    }),
  );

  cli
    .command('status')
    .description('who is signed in, the connection, active grants')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => statusCommand(o.json));

  cli
    .command('ls')
    .description('systems you may request, with what the policy would do')
    .option('--json', 'machine-readable output')
    .addOption(new Option('--ids', 'one system id a line (for completion scripts)').hideHelp())
    .action((o: { json?: boolean; ids?: boolean }) =>
      o.json || o.ids
        ? systemsCommand(o)
        : withSocket(async (c) => {
            const { systems } = await c.call('getState', {});
            console.log(visibleText(systems.length ? systemsTable(systems) : 'No systems (are you signed in?).', { multiline: true }));
          }),
    );

  cli
    .command('request [system]')
    .description('ask for access to a system, or to a bundle of systems (--bundle)')
    .requiredOption('--for <duration>', 'how long, e.g. 30m or 1h30m', duration)
    .option('--reason <text>', 'what you will do', '')
    .option('--ticket <id>', 'ticket the system asks for')
    .option('--break-glass', 'emergency access (audited, reviewed after the fact)')
    .option('--bundle <id>', 'a bundle from `stint ls`: several systems, one request, one review, one countdown')
    .option('--at <time>', 'start then, not at approval (a maintenance window, within 7 days): 22:00, +2h, 2026-12-03T22:00', startAtOption)
    .option('--wait', 'wait until it is approved or refused')
    .option('--timeout <duration>', 'how long --wait waits', duration, 15 * 60)
    .option('--json', 'machine-readable output')
    .action((named: string | undefined, o: { for: number; reason: string; ticket?: string; bundle?: string; breakGlass?: boolean; at?: string; wait?: boolean; timeout: number; json?: boolean }) =>
      withSocket(async (c) => {
        const system = o.bundle ? await bundleNamed(c, o.bundle, named) : named;
        if (!system) throw new CliError('Name the system to request (stint ls lists them), or a bundle with --bundle.', EXIT.usage, 'usage');
        let request = await c.call('request', { systemId: system, durationSeconds: o.for, reason: o.reason, ticket: o.ticket, breakGlass: o.breakGlass ?? false, ...(o.at ? { startAt: o.at } : {}) });
        let waits: string | null = null;
        if (o.wait && request.state === 'pending') {
          console.error(`Waiting for approval (${request.approvalsRequired} needed from ${request.approverGroups.join(' or ')})...`);
          const until = Date.now() + o.timeout * 1000;
          while (request.state === 'pending' || request.state === 'approved') {
            if (Date.now() > until) throw new CliError(`Still pending after ${formatDuration(o.timeout)}; it stays open: stint requests`, EXIT.timeout, 'timeout');
            await new Promise((r) => setTimeout(r, 250));
            const state = await c.call('getState', {});
            request = state.myRequests.find((r) => r.id === request.id) ?? request;
            // Approved, and waiting to be started (or for its start time): the wait is over.
            if ((waits = waitingWords(state, request))) break;
            if (request.state === 'active' && !state.grants.some((g) => g.requestId === request.id)) request = { ...request, state: 'approved' };
          }
          if (request.state !== 'active' && !waits) {
            const why = request.failureReason ? `: the credential was not issued (${v(request.failureReason)})` : '';
            throw new CliError(`Request ${shortId(request.id)} was ${request.state}${why}.`, EXIT.refused, request.state);
          }
        }
        const granted = request.state === 'active' || request.state === 'approved';
        const { grants, systems, waiting } = granted && !o.json ? await c.call('getState', {}) : { grants: [], systems: [], waiting: [] };
        const grant = grants.find((g) => g.requestId === request.id);
        const lines = grantConnectLines(systems.find((s) => s.id === request.systemId), request.systemId, grant?.envNames ?? []);
        waits ??= waitingWords({ waiting }, request);
        print(o.json, request, () =>
          waits
            ? waits
            : granted
            ? [`Granted: ${system} for ${formatDuration(request.durationSeconds)}${grantedHow(request)}. Use it:`, ...lines.map((line) => `  ${line.command}${line.where === 'hooked shell' ? '   (in a shell with the Stint hook)' : ''}`)].join('\n')
            : `Request ${shortId(request.id)} is ${request.state}: needs ${request.approvalsRequired} approval(s) from ${request.approverGroups.join(' or ')}.`,
        );
      }),
    );

  cli.command('requests').description('your requests, and those waiting for your review').option('--json', 'machine-readable output').action((o: { json?: boolean }) =>
    withSocket(async (c) => {
      const state = await c.call('getState', {});
      print(o.json, { mine: state.myRequests, review: state.reviewQueue }, () =>
        [`Waiting for your review:`, state.reviewQueue.length ? requestsTable(state.reviewQueue) : '  none', '', 'Yours:', state.myRequests.length ? requestsTable(state.myRequests) : '  none'].join('\n'),
      );
    }),
  );

  cli
    .command('cancel <id>')
    .description('withdraw a request of yours that is still waiting')
    .option('--json', 'machine-readable output')
    .action((id: string, o: { json?: boolean }) =>
      withSocket(async (c) => {
        const { myRequests } = await c.call('getState', {});
        const request = findRequest(myRequests.filter((r) => r.state === 'pending'), id, 'of yours is waiting');
        const result = await c.call('cancel', { requestId: request.id });
        print(o.json, result, () => `Cancelled your request for ${result.systemId}.`);
      }),
    );

  for (const decision of ['approve', 'deny'] as const) {
    const command = cli
      .command(`${decision} <id>`)
      .description(`${decision} a request waiting for your review`)
      .option('--comment <text>', 'a note for the requester and the audit log');
    if (decision === 'approve') command.option('--for <duration>', 'approve for less than was asked, e.g. 30m (never more)', duration);
    command.option('--json', 'machine-readable output').action((id: string, o: { comment?: string; for?: number; json?: boolean }) =>
      withSocket(async (c) => {
        const { reviewQueue } = await c.call('getState', {});
        const request = findRequest(reviewQueue, id);
        const result = await c.call('review', { requestId: request.id, decision, comment: o.comment, ...(o.for ? { durationSeconds: o.for } : {}) });
        const forWhat = result.askedSeconds ? ` for ${formatDuration(result.durationSeconds)} (asked ${formatDuration(result.askedSeconds)})` : '';
        print(o.json, result, () => `${decision === 'approve' ? 'Approved' : 'Denied'} ${v(result.requester.name ?? result.requester.sub)}'s request for ${result.systemId}${forWhat}; it is now ${result.state}.`);
      }),
    );
  }

  cli.command('grants').description('your active grants').option('--json', 'machine-readable output').action((o: { json?: boolean }) =>
    withSocket(async (c) => {
      const { grants } = await c.call('getState', {});
      print(o.json, grants, () => (grants.length ? grantsTable(grants) : 'No active grants.'));
    }),
  );

  cli
    .command('start <system-or-id>')
    .description('start an approved grant that waits for you; its countdown begins now')
    .option('--json', 'machine-readable output')
    .action((key: string, o: { json?: boolean }) =>
      withSocket(async (c) => {
        const waiting = findWaiting(await c.call('getState', {}), key);
        const request = await c.call('start', { grantId: waiting.grantId });
        print(o.json, request, () => `Started ${waiting.systemId} for ${formatDuration(waiting.durationSeconds)}: the credential is in your keychain until the deadline (stint status).`);
      }),
    );

  cli.command('release <system-or-id>').description('end a grant now; the credential is wiped').action((key: string) =>
    withSocket(async (c) => {
      const grant = findGrant(await c.call('getState', {}), key);
      await c.call('release', { grantId: grant.grantId });
      console.log(`Released ${grant.systemId}; the credential was wiped and is revoked at the server.`);
    }),
  );

  cli
    .command('extend <system-or-id>')
    .description('ask for more time (same policy as a new request)')
    .requiredOption('--for <duration>', 'how much longer', duration)
    .option('--reason <text>', "why (default: the grant's own reason)", '')
    .option('--ticket <id>', "a ticket (default: the grant's own)")
    .option('--json', 'machine-readable output')
    .action((key: string, o: { for: number; reason: string; ticket?: string; json?: boolean }) =>
      withSocket(async (c) => {
        const grant = findGrant(await c.call('getState', {}), key);
        const request = await c.call('extend', { grantId: grant.grantId, durationSeconds: o.for, reason: o.reason, ...(o.ticket ? { ticket: o.ticket } : {}) });
        print(o.json, request, () => (request.state === 'active' ? `Extended ${grant.systemId} by ${formatDuration(o.for)}.` : `Extension ${shortId(request.id)} is ${request.state}; an approver has to review it.`));
      }),
    );

  cli
    .command('env [systems...]')
    .description('print the variables of active grants for a shell to eval (or as JSON)')
    .addOption(new Option('--shell <shell>', 'output syntax').choices([...SHELLS, 'json']).default('bash'))
    .option('--previous <names>', 'names the hook exported last time (they are unset when gone)', '')
    .option('--json', 'the same as --shell json')
    .addOption(new Option('--hook', 'called by the prompt hook: when Stint is not running, unset what was exported and say nothing').hideHelp())
    .action((systems: string[], o: EnvOptions) => envCommand(systems, o));

  cli
    .command('exec <system>')
    .description('run one command with the grant\'s variables (only that command gets them)')
    .argument('<command...>', 'the command, after --')
    .passThroughOptions()
    .action(async (system: string, command: string[]) => {
      const { grants, systems } = await withSocket(async (c) => {
        const found = await c.call('env', { systems: [system] });
        // The catalog only for the hint, when there is nothing to run with.
        return { grants: found.grants, systems: found.grants.length > 0 ? [] : (await c.call('getState', {})).systems };
      });
      const grant = grants.find((g) => g.systemId === system);
      if (!grant || Date.parse(grant.expiresAt) <= Date.now()) {
        throw new CliError(`You have no active grant for ${v(system)}. Request one: ${requestHint(systems, v(system), true)}`, EXIT.notFound, 'no_grant');
      }
      const [bin, ...args] = command[0] === '--' ? command.slice(1) : command;
      if (!bin) throw new CliError('Give the command to run after --, e.g. stint exec prod-db -- psql', EXIT.usage);
      process.exitCode = await run(bin!, args, childEnv(process.env, grantVariables([grant])));
    });

  cli
    .command('completion <shell>')
    .description('print tab completion: stint completion bash > ~/.local/share/bash-completion/completions/stint (zsh: in ~/.zshrc, source <(stint completion zsh); fish: stint completion fish | source)')
    .action((shell: string) => {
      if (!COMPLETION_SHELLS.includes(shell as CompletionShell)) throw new CliError(`Unknown shell "${shell}"; use bash, zsh or fish.`, EXIT.usage);
      process.stdout.write(completionScript(shell as CompletionShell, cli));
    });

  cli
    .command('hook <shell>')
    .description('print the prompt hook: eval "$(stint hook bash)" in ~/.bashrc (zsh: ~/.zshrc; fish: stint hook fish | source)')
    .option('--prompt-only', 'print only the stint_prompt function (for starship or a prompt framework)')
    .action((shell: string, o: { promptOnly?: boolean }) => {
      if (!SHELLS.includes(shell as Shell)) throw new CliError(`Unknown shell "${shell}"; use bash, zsh or fish.`, EXIT.usage);
      process.stdout.write(o.promptOnly ? promptFunction(shell as Shell) : hookScript(shell as Shell, runtimePaths(), process.env.STINT_BIN ?? 'stint'));
    });

  cli.command('prompt').description('a short segment for PS1 or starship ("prod-db 12m"); no network').action(() => {
    const segment = promptSegment(trustedRuntime().grants);
    if (segment) console.log(segment);
  });

  cli
    .command('agent')
    .description('run Stint headless (no desktop app): the local socket for this CLI and the shell hooks')
    .option('--web', 'also serve the UI to a browser on 127.0.0.1')
    .option('--port <port>', 'web mode port (default: any free port)', (v) => Number(v), 0)
    .option('--open', 'with --web: open the UI in your browser')
    .action(async (o: { web?: boolean; open?: boolean; port: number }) => {
      const { runAgent } = await import('./agent/index');
      await runAgent({ web: o.web ?? false, open: o.open ?? false, port: o.port });
    });

  cli
    .command('ui')
    .description('open the web UI of `stint agent --web` in your browser (a fresh one-time address)')
    .option('--print', 'print the address instead of opening it (it works once, within 30 s)')
    .action((o: { print?: boolean }) =>
      withSocket(async (c) => {
        const { url } = await c.call('webLink', { open: !o.print });
        console.log(o.print ? url : 'Opened Stint in your browser.');
      }),
    );

  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.usage;
    if (error instanceof CliError || error instanceof ExecError) {
      console.error(`stint: ${visibleText(error.message, { multiline: true })}`);
      return error.exit;
    }
    console.error(`stint: ${visibleText((error as Error).message, { multiline: true })}`);
    return EXIT.failed;
  }
}
