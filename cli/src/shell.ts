import type { GrantEnv } from '@stint/contract';

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** Shell-safe single quoting: the value is data, never code, whatever bytes it holds. */
export function quote(shell: Shell, value: string): string {
  if (shell === 'fish') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const deadlineVar = (systemId: string) => `STINT_${systemId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_EXPIRES_AT`;

/**
 * The variables a shell should hold for these grants: each credential's own, each system's
 * deadline (epoch seconds, for prompts), and STINT_EXPIRES_AT, the soonest deadline.
 */
export function grantVariables(grants: readonly GrantEnv[]): Map<string, string> {
  const vars = new Map<string, string>();
  let soonest = Infinity;
  for (const grant of grants) {
    for (const [name, value] of Object.entries(grant.env)) if (NAME.test(name)) vars.set(name, value);
    const seconds = Math.floor(Date.parse(grant.expiresAt) / 1000);
    vars.set(deadlineVar(grant.systemId), String(seconds));
    soonest = Math.min(soonest, seconds);
  }
  if (grants.length > 0) {
    vars.set('STINT_EXPIRES_AT', String(soonest));
    vars.set('STINT_SYSTEMS', grants.map((g) => g.systemId).join(' '));
  }
  return vars;
}

/**
 * What `stint env --shell X` prints for a hook to eval: exports for active grants, unsets for
 * every name the hook exported before that is gone now, and the new list of names. Values go
 * from stdout into eval, never onto a command line or into history.
 */
export function renderEnv(shell: Shell, vars: ReadonlyMap<string, string>, previous: readonly string[]): string {
  const lines: string[] = [];
  for (const name of previous) if (NAME.test(name) && !vars.has(name)) lines.push(shell === 'fish' ? `set -e ${name}` : `unset ${name}`);
  for (const [name, value] of vars) lines.push(shell === 'fish' ? `set -gx ${name} ${quote(shell, value)}` : `export ${name}=${quote(shell, value)}`);
  const names = [...vars.keys()].join(' ');
  lines.push(shell === 'fish' ? `set -g __stint_vars ${quote(shell, names)}` : `__STINT_VARS=${quote(shell, names)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The prompt hook. When nothing changed it runs only builtins (`read` of the generation file
 * and a string compare): no process is spawned at a prompt. When the generation moved, it runs
 * `stint env` once and evals the result. xtrace is paused around the eval so `set -x` never
 * prints a secret.
 */
export function hookScript(shell: Shell, generationFile: string, stint: string): string {
  const file = quote(shell, generationFile);
  const bin = quote(shell, stint);
  if (shell === 'fish') {
    return `# stint: export active grants at each prompt (eval with: stint hook fish | source)
function __stint_hook --on-event fish_prompt
    set -l gen ''
    test -r ${file}; and read gen < ${file}
    if test "$gen" != "$__stint_seen"
        set -g __stint_seen $gen
        ${bin} env --shell fish --previous "$__stint_vars" 2>/dev/null | source
    end
end
`;
  }
  const install =
    shell === 'zsh'
      ? `typeset -ag precmd_functions
if (( \${precmd_functions[(Ie)__stint_hook]} == 0 )); then precmd_functions=(__stint_hook $precmd_functions); fi`
      : `if [[ ";\${PROMPT_COMMAND[*]:-};" != *";__stint_hook;"* ]]; then PROMPT_COMMAND="__stint_hook\${PROMPT_COMMAND:+;$PROMPT_COMMAND}"; fi`;
  return `# stint: export active grants at each prompt (eval "$(stint hook ${shell})")
__stint_hook() {
  local __stint_status=$? __stint_gen=
  [[ -r ${file} ]] && read -r __stint_gen < ${file}
  if [[ "$__stint_gen" != "\${__STINT_SEEN-}" ]]; then
    __STINT_SEEN=$__stint_gen
    local __stint_x=\${-//[^x]/}
    { set +x; } 2>/dev/null
    eval "$(${bin} env --shell ${shell} --previous "\${__STINT_VARS-}" 2>/dev/null)"
    [[ -n $__stint_x ]] && set -x
  fi
  return $__stint_status
}
${install}
`;
}
