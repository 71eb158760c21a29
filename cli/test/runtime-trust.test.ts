// The attack of issue 14, played for real: another Unix user plants Stint's runtime folder
// (with a revision file and a socket that answers `env` with their own variables) where the
// victim's CLI and shell hook will look for it. The CLI must refuse before it connects and
// every hook (bash, zsh, fish) must refuse before it runs `stint env`: nothing is eval'd, and
// one line says what to remove. The victim is this (root) process; root's checks are about
// ownership, not permission, so they hold for any user.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOtherUser, otherUserUnavailable, type OtherUser } from '../../test-support/other-user';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const unavailable = otherUserUnavailable();
if (unavailable) console.warn(`runtime-trust tests skipped: ${unavailable}`);

// The attacker's socket: answers every call with a "grant" whose variables would run their code.
const FAKE_AGENT = `
const net = require('node:net');
const [socket, canary] = process.argv.slice(2);
net.createServer((c) => {
  let buffer = '';
  c.on('data', (d) => {
    buffer += d;
    for (let i = buffer.indexOf('\\n'); i >= 0; i = buffer.indexOf('\\n')) {
      const { id } = JSON.parse(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      const env = { PGHOST: 'attacker.example', PROMPT_COMMAND: 'touch ' + canary };
      c.write(JSON.stringify({ id, ok: true, result: { grants: [{ grantId: '0195f0a0-0000-7000-8000-000000000001', systemId: 'prod-db', expiresAt: new Date(Date.now() + 3600e3).toISOString(), env }] } }) + '\\n');
    }
  });
}).listen(socket, () => { require('node:fs').chmodSync(socket, 0o777); console.log('listening'); });
`;

describe.skipIf(unavailable)('a runtime folder planted by another local user', () => {
  let attacker: OtherUser;
  let shared: string; // a sticky, world-writable folder, like /tmp
  let bin: string;
  let canary: string;

  beforeAll(async () => {
    attacker = await createOtherUser();
    shared = mkdtempSync(join(tmpdir(), 'stint-shared-'));
    chmodSync(shared, 0o1777);
    bin = mkdtempSync(join(tmpdir(), 'stint-victim-bin-'));
    writeFileSync(join(bin, 'stint'), `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(REPO, 'cli/src/entry.ts')}" "$@"\n`, { mode: 0o755 });
    // A `stint` that only records that it ran: the hook must not even call it.
    writeFileSync(join(bin, 'stint-spy'), `#!/bin/sh\ntouch "${join(bin, 'spy-ran')}"\n`, { mode: 0o755 });
    writeFileSync(join(shared, 'fake-agent.cjs'), FAKE_AGENT, { mode: 0o644 });
    canary = join(shared, 'attacker-code-ran');
  }, 30_000);
  afterAll(async () => {
    await attacker?.remove();
    rmSync(bin, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
  });

  /** The attacker listens on `socket` with an answer that would run their code. */
  async function fakeAgent(socket: string): Promise<void> {
    const agent = attacker.spawn(process.execPath, [join(shared, 'fake-agent.cjs'), socket, canary]);
    let stderr = '';
    agent.stderr!.on('data', (d) => (stderr += d));
    await new Promise<void>((resolveListen, reject) => {
      agent.stdout!.once('data', () => resolveListen());
      agent.once('exit', (code) => reject(new Error(`the attacker's socket did not start (exit ${code}): ${stderr}`)));
    });
  }

  /** The attacker makes `dir` (theirs, 0755) with a revision file and a listening socket. */
  async function plant(dir: string): Promise<void> {
    await attacker.run('mkdir', ['-p', '-m', '755', dir]);
    await attacker.run('sh', ['-c', `echo 99 > '${dir}/revision'`]);
    await fakeAgent(join(dir, 'stint.sock'));
  }

  // Where the victim's Stint looks: the fallback under TMPDIR, XDG_RUNTIME_DIR/stint, STINT_RUNTIME_DIR.
  const places = [
    ['the /tmp fallback', (root: string) => ({ env: { TMPDIR: root }, dir: join(root, `stint-${process.getuid!()}`) })],
    ['XDG_RUNTIME_DIR', (root: string) => ({ env: { XDG_RUNTIME_DIR: root }, dir: join(root, 'stint') })],
    ['STINT_RUNTIME_DIR', (root: string) => ({ env: { STINT_RUNTIME_DIR: join(root, 'run') }, dir: join(root, 'run') })],
  ] as const;

  const victimEnv = (extra: Record<string, string>) => {
    const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: bin, LC_ALL: 'C.UTF-8', ...extra };
    return env;
  };

  describe.each(places)('at %s', (_name, place) => {
    let root: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      root = join(shared, Math.random().toString(36).slice(2));
      await attacker.run('mkdir', ['-m', '755', root]); // the parent is the attacker's too: they made it
      const where = place(root);
      env = victimEnv(where.env);
      await plant(where.dir);
    }, 30_000);

    it('the CLI refuses before it connects (exit 8), and says what to remove', () => {
      for (const args of [['env', '--shell', 'bash'], ['status'], ['prompt']]) {
        const result = spawnSync('stint', args, { env, encoding: 'utf8' });
        expect(result.status, `${args.join(' ')}: ${result.stderr}`).toBe(8);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(/refusing Stint's runtime folder .*: it belongs to another user \(uid \d+\)\. .*remove it \(rm -r '/);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
    });

    it.each(['bash', 'zsh', 'fish'] as const)('the %s hook refuses before running stint, and evals nothing', (shell) => {
      rmSync(join(bin, 'spy-ran'), { force: true });
      const script =
        shell === 'fish'
          ? `stint hook fish | source; __stint_hook; __stint_hook; printf 'PGHOST=%s\\n' "$PGHOST"`
          : `eval "$(stint hook ${shell})"; __stint_hook; __stint_hook; printf 'PGHOST=%s\\n' "\${PGHOST-}"`;
      for (const stintBin of ['stint-spy', 'stint']) {
        const result = spawnSync(shell, shell === 'fish' ? ['--no-config', '-c', script] : ['-c', script], { env: { ...env, STINT_BIN: stintBin }, encoding: 'utf8' });
        expect(result.stdout, result.stderr).toBe('PGHOST=\n');
        expect(result.stderr).toMatch(/refusing Stint's runtime folder/);
        expect(result.stderr.trim().split('\n'), 'one line, once per change').toHaveLength(1);
        expect(existsSync(join(bin, 'spy-ran')), 'the hook ran stint').toBe(false);
        expect(existsSync(canary), "the attacker's code ran").toBe(false);
      }
    });
  });

  it.each(['bash', 'zsh', 'fish'] as const)('a FIFO planted as the revision file does not hang the %s prompt', async (shell) => {
    const root = join(shared, `fifo-${shell}`);
    await attacker.run('mkdir', ['-m', '755', root]);
    await attacker.run('mkfifo', ['-m', '644', join(root, 'revision')]);
    const env = victimEnv({ STINT_RUNTIME_DIR: root });
    const script = shell === 'fish' ? `stint hook fish | source; __stint_hook; echo done` : `eval "$(stint hook ${shell})"; __stint_hook; echo done`;
    const result = spawnSync(shell, shell === 'fish' ? ['--no-config', '-c', script] : ['-c', script], { env, encoding: 'utf8', timeout: 20_000 });
    expect(result.signal, 'the prompt hung on the FIFO').toBeNull();
    expect(result.stdout).toBe('done\n');
  });

  it('refuses a runtime folder that is a symbolic link, even to a folder of the victim', () => {
    const target = mkdtempSync(join(tmpdir(), 'stint-victim-own-'));
    const link = join(mkdtempSync(join(tmpdir(), 'stint-link-')), 'run');
    symlinkSync(target, link);
    writeFileSync(join(target, 'revision'), '5\n');
    const result = spawnSync('stint', ['env'], { env: victimEnv({ STINT_RUNTIME_DIR: link }), encoding: 'utf8' });
    expect(result.status).toBe(8);
    expect(result.stderr).toMatch(/is a symbolic link/);
    const hooked = spawnSync('bash', ['-c', `eval "$(stint hook bash)"; __stint_hook`], { env: victimEnv({ STINT_RUNTIME_DIR: link, STINT_BIN: 'stint-spy' }), encoding: 'utf8' });
    expect(hooked.stderr).toMatch(/refusing Stint's runtime folder/);
    expect(existsSync(join(bin, 'spy-ran'))).toBe(false);
  });

  it("refuses the victim's own folder when others may write into it, and the attacker's socket in it", async () => {
    const parent = mkdtempSync(join(tmpdir(), 'stint-loose-'));
    chmodSync(parent, 0o755);
    const dir = join(parent, 'run');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    await fakeAgent(join(dir, 'stint.sock'));
    const result = spawnSync('stint', ['env', '--shell', 'bash'], { env: victimEnv({ STINT_RUNTIME_DIR: dir }), encoding: 'utf8' });
    expect(result.status).toBe(8);
    expect(result.stderr).toMatch(/is writable by group \(mode 777\)/);
    // The hook's builtin checks pass (the folder is the victim's); `stint env` refuses, so nothing is eval'd.
    const hooked = spawnSync('bash', ['-c', `eval "$(stint hook bash)"; __STINT_SEEN=stale; __stint_hook; printf 'PGHOST=%s\\n' "\${PGHOST-}"`], { env: victimEnv({ STINT_RUNTIME_DIR: dir }), encoding: 'utf8' });
    expect(hooked.stdout).toBe('PGHOST=\n');
    expect(hooked.stderr).toMatch(/refusing Stint's runtime folder/);
    chmodSync(dir, 0o700);
    const socketOnly = spawnSync('stint', ['env', '--shell', 'bash'], { env: victimEnv({ STINT_RUNTIME_DIR: dir }), encoding: 'utf8' });
    expect(socketOnly.status).toBe(8);
    expect(socketOnly.stderr).toMatch(/runtime socket .*belongs to another user/);
    expect(existsSync(canary)).toBe(false);
  }, 30_000);
});
