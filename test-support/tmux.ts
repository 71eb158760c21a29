// Real interactive shells in tmux, typed into and read from like a person at a terminal.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Terminal {
  type(line: string): void;
  screen(): string;
  /** Types a command that prints a marker and value, and waits for its output. */
  read(expression: string, ms?: number): Promise<string>;
  close(): void;
}

const COMMANDS = {
  bash: ['bash', '--norc', '--noprofile', '-i'],
  zsh: ['zsh', '-f', '-i'],
  fish: ['fish', '--no-config', '-i'],
} as const;

export async function openShell(shell: keyof typeof COMMANDS, env: NodeJS.ProcessEnv): Promise<Terminal> {
  const socket = join(mkdtempSync(join(tmpdir(), 'stint-tmux-')), 'tmux.sock');
  const name = `t${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', env });
  const started = tmux('new-session', '-d', '-s', name, '-x', '250', '-y', '50', ...COMMANDS[shell]);
  if (started.status !== 0) throw new Error(`tmux could not start ${shell}: ${started.stderr}`);
  let marker = 0;
  const terminal: Terminal = {
    type: (line) => {
      // tmux reads an argument that ends in ';' as a command separator; '\;' is a literal ';'.
      tmux('send-keys', '-t', name, '-l', line.endsWith(';') ? `${line.slice(0, -1)}\\;` : line);
      tmux('send-keys', '-t', name, 'Enter');
    },
    screen: () => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', name).stdout,
    async read(expression, ms = 10_000) {
      const tag = `STINT${++marker}X${Math.random().toString(36).slice(2, 6)}`;
      terminal.type(`printf '%s=%s=\\n' ${tag} "${expression}"`);
      const deadline = Date.now() + ms;
      for (;;) {
        const match = new RegExp(`^${tag}=(.*)=$`, 'm').exec(terminal.screen());
        if (match) return match[1]!;
        if (Date.now() > deadline) throw new Error(`no output for ${expression} in ${shell}:\n${terminal.screen()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => void tmux('kill-server'),
  };
  // Wait for the first prompt.
  const ready = Date.now() + 10_000;
  while (!/[$#>%]\s*$/m.test(terminal.screen()) && Date.now() < ready) await new Promise((r) => setTimeout(r, 50));
  return terminal;
}
