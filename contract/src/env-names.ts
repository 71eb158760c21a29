// Which environment variable names a credential may set in an engineer's shell. One list for
// both ends: the server refuses a provider's answer that names one of these, and the client
// (`stint env`, `stint exec`) refuses to export one even if a server, a receiver or a spoofed
// local socket sends it. Threat: a variable that changes how shells and programs start runs
// code as the engineer (PROMPT_COMMAND runs at the next prompt; LD_PRELOAD loads a library into
// every program), or points Stint itself somewhere else (STINT_RUNTIME_DIR).

/** Names that change how shells, linkers, interpreters and tools start or where they look. */
export const REFUSED_ENV_NAMES = [
  'PATH', 'HOME', 'SHELL', 'IFS', 'ENV', 'BASH_ENV', 'PROMPT_COMMAND', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4',
  'SHELLOPTS', 'BASHOPTS', 'CDPATH', 'GLOBIGNORE', 'HISTFILE', 'ZDOTDIR', 'TMPDIR',
  'NODE_OPTIONS', 'NODE_PATH', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONWARNINGS', 'PERL5OPT', 'PERL5LIB', 'PERL5DB', 'RUBYOPT', 'RUBYLIB',
  'PERLLIB', 'PYTHONBREAKPOINT', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'GCONV_PATH',
  'SSH_ASKPASS', 'SSH_AUTH_SOCK', 'EDITOR', 'VISUAL', 'SUDO_EDITOR', 'FCEDIT', 'PAGER', 'MANPAGER', 'BROWSER',
  'LESS', 'LESSOPEN', 'LESSCLOSE', 'LESSKEYIN', 'VIMINIT', 'EXINIT', 'KUBECONFIG', 'DBUS_SESSION_BUS_ADDRESS',
  // psql is the client Stint's own PostgreSQL credentials are for: its start-up file, pager,
  // editor and service files run or redirect it.
  'PSQLRC', 'PSQL_PAGER', 'PSQL_EDITOR', 'PSQL_EDITOR_LINENUMBER_ARG', 'PSQL_HISTORY', 'PGSERVICEFILE', 'PGSYSCONFDIR',
  // zsh prompts (expanded with PROMPT_SUBST, which many setups turn on) and its function path.
  'PROMPT', 'PROMPT2', 'PROMPT3', 'PROMPT4', 'RPROMPT', 'RPROMPT2', 'RPS1', 'RPS2', 'SPROMPT', 'PROMPT_EOL_MARK', 'FPATH', 'MODULE_PATH',
  'NULLCMD', 'READNULLCMD',
  'INPUTRC', 'HOSTFILE', 'EXECIGNORE', 'FIGNORE', 'MAIL', 'MAILPATH', 'TMOUT',
  // Parameters the shells keep themselves: assigning them changes the user (zsh's UID,
  // USERNAME), breaks the shell, or cannot be read back as written (bash's `_`, RANDOM).
  '_', 'UID', 'EUID', 'GID', 'EGID', 'USERNAME', 'PPID', 'PWD', 'OLDPWD', 'SHLVL', 'RANDOM', 'SRANDOM', 'SECONDS',
  'EPOCHSECONDS', 'EPOCHREALTIME', 'LINENO', 'HISTCMD', 'FUNCNAME', 'GROUPS', 'DIRSTACK', 'OPTIND', 'OPTARG', 'OPTERR',
  'REPLY', 'COLUMNS', 'LINES', 'CMD_DURATION', 'FISH_VERSION',
] as const;

/**
 * Whole families: dynamic linkers, bash's own (BASH_ENV, BASH_XTRACEFD, BASH_FUNC_*), git's
 * (GIT_SSH_COMMAND, GIT_PROXY_COMMAND, GIT_CONFIG_*, GIT_DIR...), the XDG folders, Stint's own
 * settings and the hook's own variables.
 */
export const REFUSED_ENV_PREFIXES = ['LD_', 'DYLD_', 'BASH', 'GIT_', 'XDG_', 'STINT_', '__STINT'] as const;

/**
 * Stint's own names that its providers set (data for the connect lines, not settings): allowed
 * despite the STINT_ prefix. A built-in provider's STINT_ name missing here would be dropped by
 * every client, and its connect line would run with it empty (cli/src/shell.test.ts checks).
 */
export const STINT_CREDENTIAL_ENV_NAMES = [
  'STINT_SSH_HOST', 'STINT_SSH_PORT', 'STINT_SSH_USER',
  'STINT_REDIS_HOST', 'STINT_REDIS_PORT', 'STINT_REDIS_USER', 'STINT_REDIS_TLS',
  'STINT_MARIADB_HOST', 'STINT_MARIADB_PORT', 'STINT_MARIADB_USER', 'STINT_MARIADB_DATABASE',
] as const;

/**
 * Upper-case letters, digits and `_`, not starting with a digit, and none of the refused names.
 * A regular expression rather than code, so the webhook's JSON Schema carries the same rule.
 */
export const CREDENTIAL_ENV_NAME_PATTERN = new RegExp(
  `^(?:${STINT_CREDENTIAL_ENV_NAMES.join('|')}|(?!(?:${REFUSED_ENV_PREFIXES.join('|')})|(?:${REFUSED_ENV_NAMES.join('|')})$)[A-Z_][A-Z0-9_]*)$`,
);

export const isCredentialEnvName = (name: string): boolean => CREDENTIAL_ENV_NAME_PATTERN.test(name);
