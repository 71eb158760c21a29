// `stint completion bash|zsh|fish`: a completion script made from the commands themselves, so
// it never lists a command that is gone or misses a new one. Commands, then each command's
// options; system ids come from `stint ls --ids` at completion time (the local socket only).
import type { Command } from 'commander';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** Commands whose first argument is a system id. */
const TAKES_SYSTEM = ['request', 'start', 'exec', 'release', 'extend', 'env'];

function table(cli: Command): { name: string; options: string[] }[] {
  return cli.commands.map((c) => ({ name: c.name(), options: c.options.map((o) => o.long).filter((o): o is string => Boolean(o)) }));
}

/** One system id a line (a hidden `stint ls` option), nothing when Stint is not running. */
const SYSTEMS_CMD = 'stint ls --ids 2>/dev/null';

export function completionScript(shell: CompletionShell, cli: Command): string {
  const commands = table(cli);
  const names = commands.map((c) => c.name).join(' ');
  if (shell === 'fish') {
    const lines = [`complete -c stint -f`, `complete -c stint -n '__fish_use_subcommand' -a '${names}'`];
    for (const c of commands) {
      for (const option of c.options) lines.push(`complete -c stint -n '__fish_seen_subcommand_from ${c.name}' -l ${option.slice(2)}`);
      if (TAKES_SYSTEM.includes(c.name)) lines.push(`complete -c stint -n '__fish_seen_subcommand_from ${c.name}' -a '(${SYSTEMS_CMD})'`);
    }
    return `${lines.join('\n')}\n`;
  }
  const cases = commands.map((c) => `    ${c.name}) opts="${c.options.join(' ')}"${TAKES_SYSTEM.includes(c.name) ? '; systems=1' : ''} ;;`).join('\n');
  const bash = `_stint() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts="" systems=0
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${names} --help --version" -- "$cur")); return; fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [ "$systems" -eq 1 ] && [ "$COMP_CWORD" -eq 2 ] && [[ "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "$(${SYSTEMS_CMD})" -- "$cur")); return
  fi
  COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
}
`;
  if (shell === 'bash') return `${bash}complete -F _stint stint\n`;
  // zsh runs the bash function through its bashcompinit layer.
  return `autoload -U +X bashcompinit && bashcompinit\n${bash}complete -F _stint stint\n`;
}
