// How to use a grant's credential, as the commands a person types. Shared by the grant card
// and the CLI so both say the same thing. Only variable names appear: the values stay in the
// keychain and reach a shell through the hook or `stint exec`, never through a copied line.

export interface ConnectLine {
  /** Where the command works: a shell with the Stint hook, or anywhere. */
  where: 'hooked shell' | 'any shell';
  command: string;
}

/** Quotes an argument for a POSIX shell when it needs it (system ids are already plain). */
const arg = (text: string) => (/^[A-Za-z0-9_./:@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/**
 * The connect lines for a grant: the provider's own client first (psql, ssh, redis-cli), then `stint exec`,
 * which works without the hook. A provider Stint does not know gets the `stint exec` line only.
 */
export function connectLines(systemId: string, provider: string, envNames: readonly string[]): ConnectLine[] {
  const has = (name: string) => envNames.includes(name);
  const exec = (command: string): ConnectLine => ({ where: 'any shell', command: `stint exec ${arg(systemId)} -- ${command}` });
  if (provider === 'postgres' && has('DATABASE_URL')) {
    return [{ where: 'hooked shell', command: 'psql "$DATABASE_URL"' }, exec('psql')];
  }
  if (provider === 'ssh' && has('STINT_SSH_HOST') && has('STINT_SSH_USER')) {
    const ssh = `ssh${has('STINT_SSH_PORT') ? ' -p "$STINT_SSH_PORT"' : ''} "$STINT_SSH_USER@$STINT_SSH_HOST"`;
    // The key and its certificate are in the ssh-agent, so plain ssh picks them up.
    return [{ where: 'hooked shell', command: ssh }, exec(`sh -c '${ssh.replace(/'/g, `'\\''`)}'`)];
  }
  if (provider === 'redis' && has('STINT_REDIS_HOST') && has('STINT_REDIS_PORT') && has('STINT_REDIS_USER') && has('REDISCLI_AUTH')) {
    // No -a: redis-cli reads the password from REDISCLI_AUTH, so it stays off the command line (ps).
    const cli = `redis-cli${has('STINT_REDIS_TLS') ? ' --tls' : ''} --user "$STINT_REDIS_USER" -h "$STINT_REDIS_HOST" -p "$STINT_REDIS_PORT"`;
    return [{ where: 'hooked shell', command: cli }, exec(`sh -c '${cli.replace(/'/g, `'\\''`)}'`)];
  }
  return [exec('<command>')];
}
