// A throwaway OpenLDAP server for tests: Debian's slapd (scripts/install-deps.sh installs it) on
// 127.0.0.1 with a port picked here, configured by a generated slapd.conf (mdb back end) in its
// own folder, its tree loaded with slapadd before the first start. A test can stop and start it
// again to play an outage.
//
// The tree (suffix dc=stint,dc=test):
//   ou=people      uid=alice, uid=bob (inetOrgPerson + posixAccount)
//   ou=services    cn=stint: the provider's bind DN, which may write only member, memberUid
//                  and description of entries under ou=groups
//   ou=groups      cn=db-admins (groupOfNames, one placeholder member: a groupOfNames must have
//                  one), cn=db-users (posixGroup, no members)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './postgres';
import type { CliResult } from './redis';

const HOST = '127.0.0.1';
const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const LDAPSEARCH = '/usr/bin/ldapsearch';
const LDAPMODIFY = '/usr/bin/ldapmodify';
const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 10_000;

export const LDAP_SUFFIX = 'dc=stint,dc=test';
export const LDAP_PEOPLE = `ou=people,${LDAP_SUFFIX}`;
export const LDAP_GROUPS = `ou=groups,${LDAP_SUFFIX}`;
export const LDAP_BIND_DN = `cn=stint,ou=services,${LDAP_SUFFIX}`;
/** groupOfNames, with a placeholder member. */
export const LDAP_NAMES_GROUP = `cn=db-admins,${LDAP_GROUPS}`;
/** posixGroup, no members. */
export const LDAP_POSIX_GROUP = `cn=db-users,${LDAP_GROUPS}`;
export const LDAP_PLACEHOLDER = `cn=nobody,${LDAP_SUFFIX}`;
const ROOT_DN = `cn=admin,${LDAP_SUFFIX}`;

export interface SlapdServer {
  host: typeof HOST;
  port: number;
  url: string;
  dir: string;
  /** The provider's bind DN's password (LDAP_BIND_DN). */
  bindPassword: string;
  /** ldapsearch as the root DN: `-LLL` output (LDIF without comments), attributes as asked. */
  search(base: string, filter: string, attributes: string[], scope?: 'base' | 'one' | 'sub'): CliResult;
  /** The values of one attribute of one entry, as the root DN reads them. */
  values(dn: string, attribute: string): string[];
  /** ldapmodify as the root DN (LDIF on standard input). */
  modify(ldif: string): CliResult;
  /** SIGTERM and wait; the data stays. */
  stop(): Promise<void>;
  /** Starts again after stop(), same port, same data. */
  start(): Promise<void>;
  /** Stops (if running) and deletes the folder. Idempotent. */
  destroy(): Promise<void>;
}

/** The {SSHA} form slapd checks a simple bind against. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

const CONFIG = (dir: string, rootPassword: string) => `
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${dir}/slapd.pid
loglevel none

database mdb
maxsize 10485760
suffix "${LDAP_SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${ssha(rootPassword)}
directory ${dir}/data
index objectClass eq
index uid eq

# The provider's account writes memberships and their marks in groups, nothing else.
access to dn.subtree="${LDAP_GROUPS}" attrs=member,memberUid,description
  by dn.exact="${LDAP_BIND_DN}" write
  by * read
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read
`;

const BASE_TREE = (bindPassword: string) => `
dn: ${LDAP_SUFFIX}
objectClass: dcObject
objectClass: organization
dc: stint
o: Stint tests

dn: ${LDAP_PEOPLE}
objectClass: organizationalUnit
ou: people

dn: uid=alice,${LDAP_PEOPLE}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: alice
cn: Alice Adams
sn: Adams
uidNumber: 1001
gidNumber: 1001
homeDirectory: /home/alice

dn: uid=bob,${LDAP_PEOPLE}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: bob
cn: Bob Smith
sn: Smith
uidNumber: 1002
gidNumber: 1002
homeDirectory: /home/bob

dn: ou=services,${LDAP_SUFFIX}
objectClass: organizationalUnit
ou: services

dn: ${LDAP_BIND_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: stint
userPassword: ${ssha(bindPassword)}

dn: ${LDAP_GROUPS}
objectClass: organizationalUnit
ou: groups

dn: ${LDAP_NAMES_GROUP}
objectClass: groupOfNames
cn: db-admins
member: ${LDAP_PLACEHOLDER}

dn: ${LDAP_POSIX_GROUP}
objectClass: posixGroup
cn: db-users
gidNumber: 2001
`;

// A test process killed outright (vitest ends fork workers with SIGKILL) cannot stop its
// server; the watchdog does, within a second, and removes the folder.
const WATCHDOG = `
owner=$1; pidfile=$2; dir=$3
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
rm -rf "$dir"
`;

export async function startSlapd(): Promise<SlapdServer> {
  if (!existsSync(SLAPD) || !existsSync(LDAPSEARCH)) throw new Error(`No ${SLAPD} or ${LDAPSEARCH}; run: bash scripts/install-deps.sh`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stint-slapd-'));
  const config = path.join(dir, 'slapd.conf');
  const pidFile = path.join(dir, 'slapd.pid');
  const rootPasswordFile = path.join(dir, 'root.pw');
  const rootPassword = `root-${randomBytes(12).toString('hex')}`;
  const bindPassword = `bind-${randomBytes(12).toString('hex')}`;

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'stint-slapd-watchdog', String(process.pid), pidFile, dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  let port = 0;
  let child: ChildProcess | null = null;
  let destroyed = false;
  let stderr = '';
  const killNow = () => {
    child?.kill('SIGKILL');
    child = null;
  };
  process.on('exit', killNow);
  const url = () => `ldap://${HOST}:${port}`;

  const tool = (command: string, args: string[], input?: string): CliResult => {
    // The root password from a file (-y), never on the command line.
    const result = spawnSync(command, ['-x', '-H', url(), '-D', ROOT_DN, '-y', rootPasswordFile, ...args], { encoding: 'utf8', timeout: 15_000, input, env: { PATH: process.env.PATH } });
    return { status: result.status, stdout: (result.stdout ?? '').trim(), stderr: (result.stderr ?? '').trim() };
  };
  const search = (base: string, filter: string, attributes: string[], scope: 'base' | 'one' | 'sub' = 'sub') => tool(LDAPSEARCH, ['-LLL', '-o', 'ldif-wrap=no', '-s', scope, '-b', base, filter, ...attributes]);
  const values = (dn: string, attribute: string): string[] => {
    const found = search(dn, '(objectClass=*)', [attribute], 'base');
    if (found.status !== 0) throw new Error(`ldapsearch ${dn}: ${found.stderr}`);
    const prefix = `${attribute}: `;
    return found.stdout
      .split('\n')
      .filter((line) => line.toLowerCase().startsWith(prefix.toLowerCase()))
      .map((line) => line.slice(prefix.length));
  };

  /** Starts on `port`; resolves once a search answers, or rejects with slapd's output (and whether the port was taken). */
  const launch = async (): Promise<void> => {
    stderr = '';
    // -d 0: stay in the foreground (the test owns the process), logging nothing but fatal errors.
    const proc = spawn(SLAPD, ['-d', '0', '-f', config, '-h', `${url()}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (child === proc) child = null;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) break;
      if (search(LDAP_SUFFIX, '(objectClass=*)', ['1.1'], 'base').status === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    proc.kill('SIGKILL');
    throw Object.assign(new Error(`slapd on port ${port} did not start:\n${stderr}`), { portTaken: /Address already in use|bind\(\) failed/.test(stderr) });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await stop();
    process.off('exit', killNow);
    watchdog.kill();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await mkdir(path.join(dir, 'data'));
    await writeFile(config, CONFIG(dir, rootPassword));
    await writeFile(rootPasswordFile, rootPassword, { mode: 0o600 });
    await writeFile(path.join(dir, 'base.ldif'), BASE_TREE(bindPassword));
    const loaded = spawnSync(SLAPADD, ['-f', config, '-l', path.join(dir, 'base.ldif')], { encoding: 'utf8', timeout: 30_000 });
    if (loaded.status !== 0) throw new Error(`slapadd failed:\n${loaded.stdout}${loaded.stderr}`);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await launch();
        break;
      } catch (error) {
        if (!(error as { portTaken?: boolean }).portTaken || attempt >= START_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    host: HOST,
    port,
    url: url(),
    dir,
    bindPassword,
    search,
    values,
    modify: (ldif) => tool(LDAPMODIFY, [], ldif),
    stop,
    start: async () => {
      if (destroyed) throw new Error(`slapd in ${dir} was destroyed`);
      if (child) return;
      await launch();
    },
    destroy,
  };
}

