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
 * The connect lines for a grant: the provider's own client first (psql, ssh, redis-cli, mysql), then `stint exec`,
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
  if (provider === 'mariadb' && has('STINT_MARIADB_HOST') && has('STINT_MARIADB_PORT') && has('STINT_MARIADB_USER') && has('MYSQL_PWD')) {
    // No -p: the mysql and mariadb clients read the password from MYSQL_PWD, so it stays off
    // the command line (ps). --protocol=TCP: with -h localhost they would take the local socket.
    const database = has('STINT_MARIADB_DATABASE') ? ' -D "$STINT_MARIADB_DATABASE"' : '';
    const cli = `mysql --protocol=TCP -h "$STINT_MARIADB_HOST" -P "$STINT_MARIADB_PORT" -u "$STINT_MARIADB_USER"${database}`;
    return [{ where: 'hooked shell', command: cli }, exec(`sh -c '${cli.replace(/'/g, `'\\''`)}'`)];
  }
  return [exec('<command>')];
}

/**
 * A bundle's connect lines: each member's client (psql, ssh…), all with `stint exec` on the
 * bundle, whose one credential holds every member's variables; the generic line once, last.
 */
export function bundleConnectLines(bundleId: string, members: readonly { provider: string }[], envNames: readonly string[]): ConnectLine[] {
  const lines = members.flatMap((m) => connectLines(bundleId, m.provider, envNames));
  const unique = lines.filter((line, i) => lines.findIndex((l) => l.command === line.command) === i);
  const generic = unique.filter((l) => l.command.endsWith(' -- <command>'));
  return [...unique.filter((l) => !generic.includes(l)), ...generic.slice(0, 1)];
}

/** The lines for a grant of any system: a bundle's members', or the system's own. */
export function grantConnectLines(system: { id: string; provider: string; bundle?: readonly { provider: string }[] | null | undefined } | undefined, systemId: string, envNames: readonly string[]): ConnectLine[] {
  return system?.bundle?.length ? bundleConnectLines(systemId, system.bundle, envNames) : connectLines(systemId, system?.provider ?? '', envNames);
}

/**
 * A bundle's members as one phrase ("Production database and Dev SSH host"), for the catalog,
 * the approver's card, the tray and `stint ls`; '' for a single system.
 */
export function bundleMembersText(bundle: readonly { name: string }[] | null | undefined): string {
  return bundle?.length ? new Intl.ListFormat('en', { style: 'long', type: 'conjunction' }).format(bundle.map((m) => m.name)) : '';
}
