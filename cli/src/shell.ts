import { readFileSync } from 'node:fs';
import type { GrantEnv } from '@stint/contract';
import { isCredentialEnvName } from '@stint/contract/plain';
import type { RuntimePaths } from '@stint/node-shared/runtime-folder';

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
 * The variables a shell should hold for these grants: each credential's own (only names the
 * contract allows), each system's
 * deadline (epoch seconds, for prompts), and STINT_EXPIRES_AT, the soonest deadline.
 */
export function grantVariables(grants: readonly GrantEnv[]): Map<string, string> {
  const vars = new Map<string, string>();
  let soonest = Infinity;
  for (const grant of grants) {
    // Defence in depth: the server refuses these names already, but the answer may come from a
    // spoofed socket or a compromised server; a name that changes how programs start, or a value
    // no environment can hold, is never exported.
    for (const [name, value] of Object.entries(grant.env)) if (isCredentialEnvName(name) && !value.includes('\0')) vars.set(name, value);
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
export function renderEnv(shell: Shell, vars: ReadonlyMap<string, string>, previous: readonly string[], bootEpochSeconds?: number): string {
  const lines: string[] = [];
  // fish has no clock builtin: stint_prompt adds /proc/uptime to this (see promptFunction).
  if (shell === 'fish' && bootEpochSeconds !== undefined) lines.push(`set -g __stint_boot_epoch ${bootEpochSeconds.toFixed(2)}`);
  // Only names Stint could have exported are unset: a tampered list must not unset PATH.
  const ours = (name: string) => NAME.test(name) && (isCredentialEnvName(name) || name.startsWith('STINT_'));
  for (const name of previous) if (ours(name) && !vars.has(name)) lines.push(shell === 'fish' ? `set -e ${name}` : `unset ${name}`);
  for (const [name, value] of vars) lines.push(shell === 'fish' ? `set -gx ${name} ${quote(shell, value)}` : `export ${name}=${quote(shell, value)}`);
  const names = [...vars.keys()].join(' ');
  lines.push(shell === 'fish' ? `set -g __stint_vars ${quote(shell, names)}` : `__STINT_VARS=${quote(shell, names)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * When this machine booted, in epoch seconds, on the clock /proc/uptime counts from (Linux), to
 * the hundredth: fish's stint_prompt adds the uptime it reads there. os.uptime() is whole seconds.
 */
export function bootEpochSeconds(nowMs = Date.now()): number | undefined {
  try {
    return nowMs / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/**
 * `stint_prompt`: the segment `stint prompt` prints ("prod-db 12m dev-ssh 42s"), computed by
 * the shell itself from the deadline variables the hook keeps (STINT_SYSTEMS and each
 * STINT_<SYSTEM>_EXPIRES_AT), so a prompt pays no process at all. The clock is the shell's own:
 * EPOCHSECONDS in bash 5 (printf %(%s)T in bash 4.2+), zsh/datetime in zsh. fish has no clock
 * builtin, so `stint env` leaves the boot time in __stint_boot_epoch and the function adds the
 * uptime it reads from /proc/uptime (Linux; elsewhere fish's segment shows nothing).
 */
export function promptFunction(shell: Shell): string {
  if (shell === 'fish') {
    return `function stint_prompt --description 'Stint grants with time left, for your prompt'
    set -q __stint_boot_epoch; and test -r /proc/uptime; or return 0
    read -l up rest < /proc/uptime
    set -l now (math --scale=0 "$__stint_boot_epoch + $up")
    set -l out
    for s in (string split ' ' -- "$STINT_SYSTEMS")
        test -n "$s"; or continue
        set -l v STINT_(string upper -- $s | string replace -ra '[^A-Z0-9]' _)_EXPIRES_AT
        set -q $v; or continue
        set -l at $$v
        string match -qr '^[0-9]+$' -- "$at"; or continue
        set -l left (math "$at - $now")
        test $left -gt 0; or continue
        if test $left -lt 60
            set -a out "$s $left"s
            continue
        end
        set -l m (math --scale=0 "floor($left / 60)")
        set -l t ''
        set -l d (math --scale=0 "floor($m / 1440)")
        set -l h (math --scale=0 "floor(($m % 1440) / 60)")
        set m (math "$m % 60")
        test $d -gt 0; and set t "$t$d"d
        test $h -gt 0; and set t "$t$h"h
        test $m -gt 0; and set t "$t$m"m
        set -a out "$s $t"
    end
    string join ' ' -- $out
end
`;
  }
  const upper = shell === 'zsh' ? '${(U)__s}' : '${__s^^}';
  const indirect = shell === 'zsh' ? '${(P)__v-}' : '${!__v-}';
  const clock = shell === 'zsh' ? 'zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null; __now=${EPOCHSECONDS-}' : "__now=${EPOCHSECONDS-}; [[ -n $__now ]] || printf -v __now '%(%s)T' -1";
  const systems = shell === 'zsh' ? '${=STINT_SYSTEMS-}' : '${STINT_SYSTEMS-}';
  return `stint_prompt() {
  local __s __v __at __left __m __t __now __out=
  ${clock}
  [[ $__now =~ ^[0-9]+$ ]] || return 0
  for __s in ${systems}; do
    __v=${upper}; __v=STINT_\${__v//[^A-Z0-9]/_}_EXPIRES_AT
    __at=${indirect}
    [[ $__at =~ ^[0-9]+$ ]] || continue
    (( __left = __at - __now ))
    (( __left > 0 )) || continue
    if (( __left < 60 )); then __t="\${__left}s"
    else
      (( __m = __left / 60 )); __t=
      (( __m >= 1440 )) && __t+="$(( __m / 1440 ))d"
      (( __m % 1440 >= 60 )) && __t+="$(( __m % 1440 / 60 ))h"
      (( __m % 60 > 0 )) && __t+="$(( __m % 60 ))m"
    fi
    __out+="\${__out:+ }$__s $__t"
  done
  # --set keeps it in STINT_PROMPT instead (for PROMPT_COMMAND or precmd: not even a subshell).
  if [[ \${1-} == --set ]]; then STINT_PROMPT=$__out
  elif [[ -n $__out ]]; then printf '%s\n' "$__out"
  fi
  return 0
}
`;
}

/**
 * The prompt hook. When nothing changed it runs only builtins, and only one `stat` touches the
 * disk: the marker the agent keeps beside the revision it published last (`seen-N`,
 * core/src/runtime/revision.ts, which never lets a marker outlive its revision). While the
 * marker of the revision this shell saw is there, nothing changed. Otherwise it reads the revision file (`read`, a string compare): no process is
 * spawned at a prompt. A revision that is not a plain number gets no marker, so such a file is
 * read at every prompt. Loading the hook forgets the marker a previous load watched. When the revision moved, it
 * first checks that the runtime folder and the revision file are the user's own and not
 * symbolic links (builtin tests, no process), then runs `stint env` once and evals the result
 * only if it succeeded; `stint env` checks the folder again, fully (modes, the socket), before it
 * connects. Threat: another local user planting the folder so the shell evals their text.
 * The revision file is read only when it is a regular file of the user's own: a FIFO or a
 * link to /dev/zero planted there would otherwise hang every prompt. xtrace and verbose are
 * paused around the eval so neither `set -x` nor `set -v` prints a secret.
 */
export function hookScript(shell: Shell, paths: Pick<RuntimePaths, 'dir' | 'revision'>, stint: string): string {
  const dir = quote(shell, paths.dir);
  const file = quote(shell, paths.revision);
  const bin = quote(shell, stint);
  const refusal = quote(shell, `stint: refusing Stint's runtime folder ${paths.dir}: it (or its revision file) is not yours, or is a symbolic link. Someone else may have planted it: remove it (rm -r '${paths.dir}'; in a shared /tmp an administrator may have to) and start Stint again.`);
  if (shell === 'fish') {
    return `# stint: export active grants at each prompt (eval with: stint hook fish | source)
set -e -g __stint_mark
function __stint_hook --on-event fish_prompt
    # Nothing new: the marker of the revision this shell saw is still there.
    if set -q __stint_mark; and test -O "$__stint_mark"
        return
    end
    set -l gen ''
    if test -f ${file}; and test -O ${file}
        read gen < ${file}
    else if test -e ${file}; or test -L ${file}
        set gen '?untrusted'
    end
    if string match -qr '^[0-9]+$' -- "$gen"
        set -g __stint_mark ${dir}/seen-$gen
    else
        set -e -g __stint_mark
    end
    if test "$gen" != "$__stint_seen"
        set -g __stint_seen $gen
        if test -L ${dir}; or begin; test -e ${dir}; and not test -O ${dir}; end; or test -L ${file}; or begin; test -e ${file}; and not test -O ${file}; end
            echo ${refusal} >&2
        else
            # stint env writes to stdout only once it has succeeded: a refusal sources nothing.
            ${bin} env --shell fish --hook --previous "$__stint_vars" | source
        end
    end
end
${promptFunction('fish')}`;
  }
  const install =
    shell === 'zsh'
      ? `typeset -ag precmd_functions
if (( \${precmd_functions[(Ie)__stint_hook]} == 0 )); then precmd_functions=(__stint_hook $precmd_functions); fi`
      : `if [[ ";\${PROMPT_COMMAND[*]:-};" != *";__stint_hook;"* ]]; then PROMPT_COMMAND="__stint_hook\${PROMPT_COMMAND:+;$PROMPT_COMMAND}"; fi`;
  return `# stint: export active grants at each prompt (eval "$(stint hook ${shell})")
__STINT_MARK=
__stint_hook() {
  local __stint_status=$?
  # Nothing new: the marker of the revision this shell saw is still there (one stat).
  [[ -O \${__STINT_MARK-} ]] && return $__stint_status
  local __stint_gen= __stint_out=
  if [[ -f ${file} && -O ${file} ]]; then read -r __stint_gen < ${file}
  elif [[ -e ${file} || -L ${file} ]]; then __stint_gen='?untrusted'
  fi
  if [[ -n $__stint_gen && $__stint_gen != *[^0-9]* ]]; then __STINT_MARK=${dir}/seen-$__stint_gen; else __STINT_MARK=; fi
  if [[ "$__stint_gen" != "\${__STINT_SEEN-}" ]]; then
    __STINT_SEEN=$__stint_gen
    if [[ -L ${dir} || ( -e ${dir} && ! -O ${dir} ) || -L ${file} || ( -e ${file} && ! -O ${file} ) ]]; then
      printf '%s\n' ${refusal} >&2
    else
      local __stint_xv=\${-//[^xv]/}
      { set +xv; } 2>/dev/null
      __stint_out=$(${bin} env --shell ${shell} --hook --previous "\${__STINT_VARS-}") && eval "$__stint_out"
      [[ $__stint_xv == *x* ]] && set -x
      [[ $__stint_xv == *v* ]] && set -v
    fi
  fi
  return $__stint_status
}
${install}
${promptFunction(shell)}`;
}
