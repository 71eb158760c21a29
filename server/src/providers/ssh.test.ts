import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, runSsh, startSshd, type RunningSshd } from '../../../test-support/sshd';
import { ENGINES, startHarness, type Harness } from '../../test/harness';
import { SystemConfig } from '../config/schema';
import type { NewRequestRow, NewGrantRow } from '../store/schema';
import { ProviderRegistry, type IssueInput } from './provider';
import { ProviderRefusal } from './provider';
import { cidrProblem, DEFAULT_EXTENSIONS, parsePublicKey, renderPrincipals, sshProvider, validatePublicKey } from './ssh';
import { buildKrl, encodeKrl, registerKrlRoute } from './ssh-krl';

const execFileAsync = promisify(execFile);
const MINUTE = 60_000;

let dir: string;
let sshd: RunningSshd;
/** An Ed25519 CA and an RSA-3072 CA, both trusted by the test sshd. */
let edCaKey: string;
let rsaCaKey: string;
let userKey: string;
let userPub: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pub = (keyPath: string) => readFile(`${keyPath}.pub`, 'utf8');

function sshSystem(settings: Record<string, unknown>, id = 'ssh-test'): SystemConfig {
  return SystemConfig.parse({
    id,
    name: 'Test host',
    provider: { type: 'ssh', settings },
    durations: { presets: ['15m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    justification: 'optional',
  });
}

function baseSettings(overrides: Record<string, unknown> = {}) {
  return { caKey: { file: edCaKey }, principals: [sshd.userName], host: sshd.host, port: sshd.port, ...overrides };
}

function issueInput(system: SystemConfig, publicKey: string | null, overrides: Partial<IssueInput> = {}): IssueInput {
  const now = Date.now();
  return {
    grantId: randomUUID(),
    requestId: randomUUID(),
    system,
    user: { sub: 'alice', login: 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
    startsAt: now,
    expiresAt: now + 15 * MINUTE,
    publicKey,
    ...overrides,
  };
}

async function writeCert(certificate: string, name = `cert-${randomUUID()}`): Promise<string> {
  const file = path.join(dir, `${name}-cert.pub`);
  await writeFile(file, `${certificate}\n`);
  return file;
}

const login = (certificatePath: string, keyPath = userKey, user = sshd.userName) => runSsh({ port: sshd.port, user, keyPath, certificatePath });

/** ssh-keygen -Q: exit 0 when the certificate is not in the KRL, 1 when it is revoked. */
async function krlVerdict(krl: Buffer, certificatePath: string): Promise<'ok' | 'revoked'> {
  const file = path.join(dir, `q-${randomUUID()}.krl`);
  await writeFile(file, krl);
  try {
    await execFileAsync('ssh-keygen', ['-Q', '-f', file, certificatePath]);
    return 'ok';
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    if (code === 1 && /REVOKED/.test(stdout ?? '')) return 'revoked';
    throw new Error(`ssh-keygen -Q failed (${code}): ${stdout}${stderr}`);
  }
}

const describeCert = async (certificatePath: string) => (await execFileAsync('ssh-keygen', ['-L', '-f', certificatePath])).stdout;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stint-ssh-test-'));
  edCaKey = await generateKeyPair(dir, 'ca_ed25519');
  rsaCaKey = await generateKeyPair(dir, 'ca_rsa', 'rsa', 3072);
  userKey = await generateKeyPair(dir, 'user_ed25519');
  userPub = await pub(userKey);
  sshd = await startSshd({ caPublicKey: `${await pub(edCaKey)}${await pub(rsaCaKey)}` });
});

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ssh provider settings', () => {
  const problem = (settings: Record<string, unknown>) => {
    try {
      sshProvider(sshSystem(settings));
    } catch (error) {
      return (error as Error).message;
    }
    return null;
  };

  it('accepts good settings and fills the defaults', async () => {
    expect(problem(baseSettings())).toBeNull();
    const issued = await sshProvider(sshSystem(baseSettings())).issue(issueInput(sshSystem(baseSettings()), userPub));
    expect(issued.fields.port).toBe(String(sshd.port));
    expect(DEFAULT_EXTENSIONS).toEqual(['permit-pty']);
  });

  it('names the setting in every error', async () => {
    expect(problem({ ...baseSettings(), host: undefined })).toMatch(/^host: give the SSH server/);
    expect(problem(baseSettings({ host: 'db; rm -rf /' }))).toMatch(/^host: a host name or IP address/);
    expect(problem(baseSettings({ principals: [] }))).toMatch(/^principals: give at least one principal/);
    expect(problem(baseSettings({ principals: ['{usr}'] }))).toMatch(/^principals\.0: unknown placeholder \{usr\} \(known: \{user\}, \{email_local\}, \{sub\}\)/);
    expect(problem(baseSettings({ principals: ['ops, root'] }))).toMatch(/^principals\.0: a principal may not contain spaces/);
    expect(problem(baseSettings({ extensions: ['permit-agent-fowarding'] }))).toMatch(/^extensions\.0: unknown extension/);
    expect(problem(baseSettings({ extensions: ['permit-pty', 'permit-pty'] }))).toMatch(/^extensions: an extension is listed twice/);
    expect(problem(baseSettings({ sourceAddress: ['10.0.0.1/8'] }))).toMatch(/^sourceAddress\.0: "10\.0\.0\.1\/8" has bits set past its \/8 mask/);
    expect(problem(baseSettings({ sourceAddress: ['10.0.0.0/33'] }))).toMatch(/^sourceAddress\.0: .*prefix length outside 0-32/);
    expect(problem(baseSettings({ sourceAddress: ['not-an-ip'] }))).toMatch(/^sourceAddress\.0: "not-an-ip" is not an IPv4 or IPv6/);
    expect(problem(baseSettings({ port: 0 }))).toMatch(/^port: /);
    expect(problem(baseSettings({ loginUser: 'root; id' }))).toMatch(/^loginUser: a login name/);
    expect(problem(baseSettings({ clockSkewSeconds: -1 }))).toMatch(/^clockSkewSeconds: /);
    expect(problem(baseSettings({ hots: 'x' }))).toMatch(/Unrecognized key: "hots"/);
    expect(problem(baseSettings({ caKey: 'inline-key-text' }))).toMatch(/^caKey: /);
    expect(problem(baseSettings({ caKey: { file: path.join(dir, 'missing') } }))).toMatch(/^caKey: cannot read the secret file .*missing \(ENOENT\)/);
    expect(problem(baseSettings({ caKey: { env: 'STINT_TEST_UNSET_CA' } }))).toMatch(/^caKey: the environment variable STINT_TEST_UNSET_CA is not set/);
    expect(problem(baseSettings({ caKey: { file: `${edCaKey}.pub` } }))).toMatch(/^caKey: expected a private key file .*is this the \.pub file\?/);

    const weakCa = await generateKeyPair(dir, 'ca_rsa_1024', 'rsa', 1024);
    expect(problem(baseSettings({ caKey: { file: weakCa } }))).toMatch(/^caKey: the RSA CA key has 1024 bits; use at least 2048/);
    const encrypted = path.join(dir, 'ca_encrypted');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret passphrase', '-f', encrypted]);
    expect(problem(baseSettings({ caKey: { file: encrypted } }))).toMatch(/^caKey: .*encrypted with a passphrase/);
  });

  it('reports the full path through the provider registry at boot', () => {
    const registry = new ProviderRegistry().register('ssh', sshProvider);
    expect(() => registry.configure([sshSystem({ ...baseSettings(), host: undefined })])).toThrow(/systems\.ssh-test\.provider\.settings: host: /);
  });

  it('accepts CIDR blocks sshd accepts, IPv4 and IPv6', () => {
    for (const ok of ['127.0.0.1', '127.0.0.1/32', '10.0.0.0/8', '0.0.0.0/0', '::1/128', '2001:db8::/32', 'fd00::/8', '::ffff:10.0.0.0/104']) expect(cidrProblem(ok)).toBeNull();
    for (const bad of ['2001:db8::1/32', '10.0.0.0/8/1', 'fe80::1%eth0', '10.0.0.0/-1']) expect(cidrProblem(bad)).not.toBeNull();
  });
});

describe('principals', () => {
  it('renders {user}, {email_local} and {sub} as they are, skipping templates whose value is missing', () => {
    const user = { sub: 'Alice.Adams', login: 'Alice.Adams', email: 'alice_ops@stint.example' };
    expect(renderPrincipals(['{user}', '{email_local}', 'ops-{email_local}', 'deploy', '{sub}'], user)).toEqual(['Alice.Adams', 'alice_ops', 'ops-alice_ops', 'deploy']);
    expect(renderPrincipals(['{user}', 'admin-{email_local}'], { sub: 'bob', login: 'bob', email: null })).toEqual(['bob']);
    expect(renderPrincipals(['{user}', '{user}'], { sub: 'bob', login: 'bob', email: null })).toEqual(['bob']);
  });

  it('{user} is the login the IdP names, not its opaque sub', () => {
    const user = { sub: 'f3c1e2a0-77b4-4d0e-9d5e-3b1f0c2a9e11', login: 'alice', email: null };
    expect(renderPrincipals(['{user}', 'sub-{sub}'], user)).toEqual(['alice', 'sub-f3c1e2a0-77b4-4d0e-9d5e-3b1f0c2a9e11']);
  });

  it('keeps case: ALICE is its own account, not alice’s', () => {
    expect(renderPrincipals(['{user}'], { sub: 'ALICE', login: 'ALICE', email: null })).toEqual(['ALICE']);
  });

  it.each([
    ['root!', /holds characters other than/], // was rewritten to root
    ['a'.repeat(300), /longer than 32 characters/], // was cut to its first 32 characters
    ['Alice.Adams@corp', /holds characters other than/], // was alice.adams-corp
    ['-rf', /starts with "\." or "-"/], // was rf
  ])('never rewrites %j into what may be another account: refused with the reason', (name, why) => {
    expect(() => renderPrincipals(['{user}'], { sub: name, login: name, email: null })).toThrow(ProviderRefusal);
    expect(() => renderPrincipals(['{user}'], { sub: name, login: name, email: null })).toThrow(why);
    expect(() => renderPrincipals(['{user}'], { sub: name, login: name, email: null })).toThrow(/Stint does not rewrite it/);
    expect(() => renderPrincipals(['ops-{email_local}'], { sub: 'x', login: 'x', email: `${name}@stint.example` })).toThrow(ProviderRefusal);
  });

  it('refuses a raw {sub} that would smuggle list syntax into a principal', () => {
    expect(() => renderPrincipals(['{sub}'], { sub: 'eve,root', login: 'eve,root', email: null })).toThrow(/characters a principal may not contain/);
    expect(() => renderPrincipals(['{sub}'], { sub: 'eve\nroot', login: 'eve\nroot', email: null })).toThrow(/gives "eve\?root"/);
  });

  it('never issues a certificate without principals (sshd reads none as "any user")', async () => {
    const system = sshSystem(baseSettings({ principals: ['{email_local}'] }));
    const input = issueInput(system, userPub, { user: { sub: 'bob', login: 'bob', name: null, email: null, groups: [] } });
    await expect(sshProvider(system).issue(input)).rejects.toThrow(/no principal could be made for bob/);
  });
});

describe('public keys', () => {
  it('accepts ed25519 and RSA of 2048 bits or more', async () => {
    expect(validatePublicKey(userPub)).toBeNull();
    expect(validatePublicKey(await pub(await generateKeyPair(dir, 'rsa2048', 'rsa', 2048)))).toBeNull();
    expect(parsePublicKey(userPub).fingerprint).toBe((await execFileAsync('ssh-keygen', ['-l', '-f', `${userKey}.pub`])).stdout.split(' ')[1]);
  });

  it('refuses everything else with a message that says what to do', async () => {
    const rsa1024 = await pub(await generateKeyPair(dir, 'rsa1024', 'rsa', 1024));
    const ecdsa = await pub(await generateKeyPair(dir, 'ecdsa', 'ecdsa'));
    const [type, data] = userPub.split(' ') as [string, string];
    expect(validatePublicKey(rsa1024)).toMatch(/^This RSA key has 1024 bits; at least 2048 are required \(better, generate one with: ssh-keygen -t ed25519\)/);
    expect(validatePublicKey(ecdsa)).toMatch(/^ecdsa-sha2-nistp256 keys are not accepted; use an ssh-ed25519 key/);
    expect(validatePublicKey('hello world')).toMatch(/^That is not an OpenSSH public key line/);
    expect(validatePublicKey('')).toMatch(/^The public key is empty/);
    expect(validatePublicKey(`${userPub}${userPub}`)).toMatch(/^Send exactly one public key line/);
    expect(validatePublicKey(await readFile(userKey, 'utf8'))).toMatch(/^That is a private key/);
    expect(validatePublicKey(`${type} ${data.slice(0, 40)}`)).toMatch(/^The ssh-ed25519 key's data is damaged/);
    expect(validatePublicKey(`ssh-rsa ${data}`)).toMatch(/^The ssh-rsa key's data is damaged/);
    expect(validatePublicKey(`${type} ${data}AAAA`)).toMatch(/damaged/);
    expect(validatePublicKey(`${type}-cert-v01@openssh.com ${data}`)).toMatch(/^That is a certificate/);
  });

  it('fails the issue (and so the grant) with the same message', async () => {
    const system = sshSystem(baseSettings());
    const rsa1024 = await pub(path.join(dir, 'rsa1024'));
    await expect(sshProvider(system).issue(issueInput(system, rsa1024))).rejects.toThrow(/This RSA key has 1024 bits/);
    await expect(sshProvider(system).issue(issueInput(system, null))).rejects.toThrow(/request carries none/);
  });
});

describe('certificates against a real sshd', () => {
  it('lets the grantee in during the window and shows who and which serial', async () => {
    const system = sshSystem(baseSettings({ principals: ['{user}', sshd.userName], loginUser: sshd.userName, extensions: ['permit-pty', 'permit-port-forwarding'] }));
    const input = issueInput(system, userPub);
    const issued = await sshProvider(system).issue(input);

    expect(issued.fields.certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com AAAA[A-Za-z0-9+/=]+$/);
    expect(issued.fields).toMatchObject({ principals: `alice,${sshd.userName}`, host: '127.0.0.1', port: String(sshd.port), user: sshd.userName });
    expect(issued.env).toEqual({ STINT_SSH_HOST: '127.0.0.1', STINT_SSH_PORT: String(sshd.port), STINT_SSH_USER: sshd.userName });
    expect(issued.state).toMatchObject({ serial: issued.fields.serial, serials: [issued.fields.serial], keyId: `stint:${input.requestId}:alice` });
    expect(JSON.stringify(issued.state)).not.toMatch(/PRIVATE KEY/);
    expect(Date.parse(issued.fields.validBefore!)).toBe(Math.floor(input.expiresAt / 1000) * 1000);
    expect(Date.parse(issued.fields.validAfter!)).toBe((Math.floor(input.startsAt / 1000) - 60) * 1000);

    const certPath = await writeCert(issued.fields.certificate!);
    const listing = await describeCert(certPath);
    expect(listing).toContain(`Key ID: "stint:${input.requestId}:alice"`);
    expect(listing).toContain(`Serial: ${issued.fields.serial}`);
    expect(listing).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate');
    expect(listing).toMatch(/Signing CA: ED25519 SHA256:\S+ \(using ssh-ed25519\)/);
    expect(listing).toMatch(new RegExp(`Principals: \\n\\s+alice\\n\\s+${sshd.userName}\\n`));
    expect(listing).toMatch(/Critical Options: \(none\)/);
    expect(listing).toMatch(/Extensions: \n\s+permit-port-forwarding\n\s+permit-pty\n/);

    const result = await login(certPath);
    expect(result).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect(sshd.log()).toContain(`ID stint:${input.requestId}:alice (serial ${issued.fields.serial})`);
  });

  it('refuses the certificate once the deadline has passed', async () => {
    const system = sshSystem(baseSettings());
    const now = Date.now();
    const input = issueInput(system, userPub, { startsAt: now, expiresAt: now + 3000 });
    const certPath = await writeCert((await sshProvider(system).issue(input)).fields.certificate!);
    expect((await login(certPath)).code).toBe(0);
    await sleep(input.expiresAt + 1000 - Date.now());
    const late = await login(certPath);
    expect(late.code).toBe(255);
    expect(late.stderr).toMatch(/Permission denied \(publickey\)/);
  });

  it('enforces source-address', async () => {
    const fromHere = sshSystem(baseSettings({ sourceAddress: ['127.0.0.1/32', '::1/128'] }));
    const certHere = await writeCert((await sshProvider(fromHere).issue(issueInput(fromHere, userPub))).fields.certificate!);
    expect(await describeCert(certHere)).toMatch(/Critical Options: \n\s+source-address 127\.0\.0\.1\/32,::1\/128/);
    expect((await login(certHere)).code).toBe(0);

    const elsewhere = sshSystem(baseSettings({ sourceAddress: ['10.0.0.0/8'] }));
    const certElsewhere = await writeCert((await sshProvider(elsewhere).issue(issueInput(elsewhere, userPub))).fields.certificate!);
    expect((await login(certElsewhere)).code).toBe(255);
    expect(sshd.log()).toMatch(/not from a permitted source address/);
  });

  it('signs with an RSA CA (rsa-sha2-512) and certifies RSA keys', async () => {
    const rsaUser = path.join(dir, 'rsa2048');
    const system = sshSystem(baseSettings({ caKey: { file: rsaCaKey } }));
    const issued = await sshProvider(system).issue(issueInput(system, await pub(rsaUser)));
    expect(issued.fields.certificate).toMatch(/^ssh-rsa-cert-v01@openssh\.com /);
    const certPath = await writeCert(issued.fields.certificate!);
    expect(await describeCert(certPath)).toMatch(/Signing CA: RSA SHA256:\S+ \(using rsa-sha2-512\)/);
    expect(await login(certPath, rsaUser)).toMatchObject({ code: 0, stdout: 'ok\n' });
  });

  it('loads a PEM (PKCS#8) CA key as well as OpenSSH format', async () => {
    const pemCa = path.join(dir, 'ca_rsa_pem');
    await execFileAsync('cp', [rsaCaKey, pemCa]);
    await execFileAsync('ssh-keygen', ['-q', '-p', '-N', '', '-m', 'PKCS8', '-f', pemCa]);
    expect(await readFile(pemCa, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const system = sshSystem(baseSettings({ caKey: { file: pemCa } }));
    const certPath = await writeCert((await sshProvider(system).issue(issueInput(system, userPub))).fields.certificate!);
    expect((await login(certPath)).code).toBe(0);
  });

  it('extends with a new serial and keeps every serial for revocation', async () => {
    const system = sshSystem(baseSettings());
    const provider = sshProvider(system);
    const first = await provider.issue(issueInput(system, userPub));
    const input = issueInput(system, null, { expiresAt: Date.now() + 30 * MINUTE });
    const second = await provider.extend!({ ...input, state: first.state });
    expect(second.fields.serial).not.toBe(first.fields.serial);
    expect(second.state.serials).toEqual([first.fields.serial, second.fields.serial]);
    expect(Date.parse(second.fields.validBefore!)).toBe(Math.floor(input.expiresAt / 1000) * 1000);
    expect((await login(await writeCert(second.fields.certificate!))).code).toBe(0);
  });
});

describe('KRL encoding', () => {
  let edCa: string;
  let rsaCa: string;
  beforeAll(async () => {
    edCa = await pub(edCaKey);
    rsaCa = await pub(rsaCaKey);
  });

  it('is byte for byte what ssh-keygen -k writes for the same serials', async () => {
    const serials = [18_446_744_073_709_551_615n, 42n, 9_007_199_254_740_993n];
    const spec = path.join(dir, 'krl-spec');
    await writeFile(spec, serials.map((s) => `serial: ${s}\n`).join(''));
    const theirsPath = path.join(dir, 'theirs.krl');
    await execFileAsync('ssh-keygen', ['-q', '-k', '-f', theirsPath, '-s', `${edCaKey}.pub`, spec]);
    const theirs = await readFile(theirsPath);
    const ours = encodeKrl({ authorities: [{ caPublicKey: edCa, serials }], generatedAt: Date.now() });
    // The header differs only in krl_version and generated_date (bytes 12..28).
    const headerLength = 8 + 4 + 8 + 8 + 8 + 4 + 4;
    expect(ours.subarray(0, 12)).toEqual(theirs.subarray(0, 12));
    expect(ours.subarray(28, headerLength)).toEqual(theirs.subarray(28, headerLength));
    expect(ours.subarray(headerLength)).toEqual(theirs.subarray(headerLength));
  });

  it('revokes exactly the listed serials of exactly that CA (ssh-keygen -Q)', async () => {
    const ed = sshSystem(baseSettings());
    const rsa = sshSystem(baseSettings({ caKey: { file: rsaCaKey } }));
    const a = await sshProvider(ed).issue(issueInput(ed, userPub));
    const b = await sshProvider(ed).issue(issueInput(ed, userPub));
    const c = await sshProvider(rsa).issue(issueInput(rsa, userPub));
    const [certA, certB, certC] = await Promise.all([a, b, c].map((x) => writeCert(x.fields.certificate!)));
    const serial = (x: typeof a) => BigInt(x.fields.serial!);

    const krl = encodeKrl({
      authorities: [
        { caPublicKey: edCa, serials: [serial(a)] },
        // c's serial under the wrong CA must not revoke c.
        { caPublicKey: edCa, serials: [serial(c)] },
        { caPublicKey: rsaCa, serials: [] },
      ],
      generatedAt: Date.now(),
      comment: 'test',
    });
    expect(await krlVerdict(krl, certA!)).toBe('revoked');
    expect(await krlVerdict(krl, certB!)).toBe('ok');
    expect(await krlVerdict(krl, certC!)).toBe('ok');
    const both = encodeKrl({ authorities: [{ caPublicKey: rsaCa, serials: [serial(c)] }, { caPublicKey: edCa, serials: [serial(b)] }], generatedAt: Date.now() });
    expect(await krlVerdict(both, certB!)).toBe('revoked');
    expect(await krlVerdict(both, certC!)).toBe('revoked');
    expect(await krlVerdict(both, certA!)).toBe('ok');
    const empty = encodeKrl({ authorities: [], generatedAt: Date.now() });
    expect(await krlVerdict(empty, certA!)).toBe('ok');
  });

  it('locks a revoked certificate out of sshd at once, and only that one', async () => {
    const system = sshSystem(baseSettings());
    const a = await sshProvider(system).issue(issueInput(system, userPub));
    const b = await sshProvider(system).issue(issueInput(system, userPub));
    const [certA, certB] = await Promise.all([writeCert(a.fields.certificate!), writeCert(b.fields.certificate!)]);
    expect((await login(certA!)).code).toBe(0);
    await sshd.writeKrl(encodeKrl({ authorities: [{ caPublicKey: edCa, serials: [BigInt(a.fields.serial!)] }], generatedAt: Date.now() }));
    expect((await login(certA!)).code).toBe(255);
    expect((await login(certB!)).code).toBe(0);
    await sshd.writeKrl(encodeKrl({ authorities: [], generatedAt: Date.now() }));
    expect((await login(certA!)).code).toBe(0);
  });

  it('refuses serials sshd would reject the whole list for', () => {
    expect(() => encodeKrl({ authorities: [{ caPublicKey: edCa, serials: [0n] }], generatedAt: 0 })).toThrow(/serial 0 is outside/);
    expect(() => encodeKrl({ authorities: [{ caPublicKey: edCa, serials: [1n << 64n] }], generatedAt: 0 })).toThrow(/outside 1\.\.2\^64-1/);
    expect(() => encodeKrl({ authorities: [{ caPublicKey: 'ssh-dss AAAA', serials: [1n] }], generatedAt: 0 })).toThrow(/ssh-dss keys are not accepted/);
  });
});

describe.each(ENGINES)('through the Stint server on %s', (engine) => {
  let h: Harness;
  const systemId = 'ssh-host';

  beforeAll(async () => {
    const system = sshSystem(baseSettings({ principals: ['{user}', sshd.userName], loginUser: sshd.userName }), systemId);
    h = await startHarness({ engine, config: (base) => ({ ...base, systems: [...base.systems, system] }), providers: { ssh: sshProvider } });
    await sshd.writeKrl(encodeKrl({ authorities: [], generatedAt: Date.now() }));
  });
  afterAll(async () => h?.close());

  const krlNow = () => buildKrl(h.server.store.db, h.config.systems, h.clock.now());

  it('certifies the requester after approval, extends, and revokes on release through the KRL', async () => {
    const systems = await h.api('alice', 'GET', '/v1/systems');
    expect(systems.body.systems.find((s: { id: string }) => s.id === systemId)).toMatchObject({ provider: 'ssh', needsPublicKey: true });

    const created = await h.api('alice', 'POST', '/v1/requests', { systemId, durationSeconds: 900, reason: 'debug a stuck job', publicKey: userPub });
    expect(created.status).toBe(201);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(approved.body.grant).toMatchObject({ state: 'active', envNames: ['STINT_SSH_HOST', 'STINT_SSH_PORT', 'STINT_SSH_USER'] });
    const grantId = approved.body.grant.id;

    const credential = (await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`)).body.credential;
    expect(credential.fields).toMatchObject({ principals: `alice,${sshd.userName}`, user: sshd.userName, host: '127.0.0.1' });
    expect(credential.fields.keyId).toBe(`stint:${created.body.request.id}:alice`);
    const firstCert = await writeCert(credential.fields.certificate, 'server-first');
    expect((await login(firstCert, userKey, credential.env.STINT_SSH_USER)).stdout).toBe('ok\n');

    // Extension: a new request under the same policy, carrying no key; the same key is re-certified.
    const extension = await h.api('alice', 'POST', `/v1/grants/${grantId}/extend`, { durationSeconds: 600, reason: 'more time' });
    expect(extension.status).toBe(201);
    await h.api('bob', 'POST', `/v1/requests/${extension.body.request.id}/reviews`, { decision: 'approve' });
    const extended = (await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`)).body.credential;
    expect(extended.fields.serial).not.toBe(credential.fields.serial);
    expect(Date.parse(extended.fields.validBefore) - Date.parse(credential.fields.validBefore)).toBe(600_000);
    const secondCert = await writeCert(extended.fields.certificate, 'server-second');
    expect((await login(secondCert)).code).toBe(0);

    // Nothing has ended early yet: the list revokes nothing.
    const before = await krlNow();
    expect(await krlVerdict(before, firstCert)).toBe('ok');
    expect(await krlVerdict(before, secondCert)).toBe('ok');

    const released = await h.api('alice', 'POST', `/v1/grants/${grantId}/release`);
    expect(released.body.grant).toMatchObject({ state: 'ended', endReason: 'released' });
    const krl = await krlNow();
    expect(await krlVerdict(krl, firstCert)).toBe('revoked');
    expect(await krlVerdict(krl, secondCert)).toBe('revoked');
    await sshd.writeKrl(krl);
    const refused = await login(secondCert);
    expect(refused.code).toBe(255);
    expect(sshd.log()).toMatch(/revoked by file/);

    // Past the grant's own deadline (25 min) the certificates are dead anyway; they stay
    // listed for the clock-skew allowance (60 s), then leave the list.
    h.clock.advance(25 * MINUTE + 30_000);
    expect(await krlVerdict(await krlNow(), secondCert)).toBe('revoked');
    h.clock.advance(60_000);
    const later = await krlNow();
    expect(later.length).toBeLessThan(krl.length);
    expect(await krlVerdict(later, secondCert)).toBe('ok');
    h.clock.advance(-(26 * MINUTE + 30_000));
    await sshd.writeKrl(encodeKrl({ authorities: [], generatedAt: Date.now() }));
  });

  it('serves the KRL at GET /v1/ssh/krl without a token', async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    // The same rule as app.ts: only routes marked public answer without a principal.
    app.addHook('onRequest', async (request, reply) => {
      if (!request.routeOptions.config?.public) await reply.code(401).send({ error: 'unauthorized' });
    });
    app.get('/v1/private', async () => 'secret');
    registerKrlRoute(app, { ctx: h.server.ctx });
    try {
      expect((await app.inject({ method: 'GET', url: '/v1/private' })).statusCode).toBe(401);
      const response = await app.inject({ method: 'GET', url: '/v1/ssh/krl' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/octet-stream');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.rawPayload).toEqual(await krlNow());
      expect(response.rawPayload.subarray(0, 8).toString('latin1')).toBe('SSHKRL\n\0');
    } finally {
      await app.close();
    }
  });

  it('refuses a too-weak key when the request is made, and records nothing', async () => {
    const weak = await pub(path.join(dir, 'rsa1024'));
    const before = (await h.api('alice', 'GET', '/v1/requests?scope=mine&limit=500')).body.requests.length;
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId, durationSeconds: 900, publicKey: weak });
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject({ error: 'public_key_invalid', message: expect.stringMatching(/This RSA key has 1024 bits; at least 2048 are required/) });
    expect((await h.api('alice', 'GET', '/v1/requests?scope=mine&limit=500')).body.requests.length).toBe(before);
  });

  it('after a reload removed the system, an early release still puts the certificate in the KRL and sshd refuses it', async () => {
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId, durationSeconds: 900, reason: 'last fix before the host leaves Stint', publicKey: userPub });
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    const grantId = approved.body.grant.id as string;
    const credential = (await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`)).body.credential;
    const cert = await writeCert(credential.fields.certificate, 'server-reload');
    expect((await login(cert, userKey, credential.env.STINT_SSH_USER)).stdout).toBe('ok\n');

    const configured = h.config;
    h.server.reload({ ...configured, systems: configured.systems.filter((s) => s.id !== systemId) });
    try {
      const released = await h.api('alice', 'POST', `/v1/grants/${grantId}/release`);
      expect(released.body.grant).toMatchObject({ state: 'ended', endReason: 'released' });
      const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'ended', last_error: null });
      const krl = await buildKrl(h.server.store.db, h.server.ctx.config().systems, h.clock.now());
      expect(await krlVerdict(krl, cert)).toBe('revoked');
      await sshd.writeKrl(krl);
      expect((await login(cert)).code).toBe(255);
    } finally {
      h.server.reload(configured);
      await sshd.writeKrl(encodeKrl({ authorities: [], generatedAt: Date.now() }));
    }
  });

  it('timing (informational)', async () => {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const time = async (n: number, f: () => Promise<unknown> | unknown) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await f();
        out.push(performance.now() - t);
      }
      return median(out);
    };
    const ed = sshSystem(baseSettings());
    const rsa = sshSystem(baseSettings({ caKey: { file: rsaCaKey } }));
    const edProvider = sshProvider(ed);
    const rsaProvider = sshProvider(rsa);
    const issueEd = await time(10, () => edProvider.issue(issueInput(ed, userPub)));
    const issueRsa = await time(10, () => rsaProvider.issue(issueInput(rsa, userPub)));

    // 1000 grants released early (still listed) and 1000 that lapsed (filtered out by the query).
    const now = h.clock.now();
    const edCaLine = (await pub(edCaKey)).trim();
    const requests: NewRequestRow[] = [];
    const grants: NewGrantRow[] = [];
    for (let i = 0; i < 2000; i++) {
      const live = i % 2 === 0;
      const requestId = randomUUID();
      const grantId = randomUUID();
      requests.push({
        id: requestId, system_id: systemId, requester_sub: 'alice', requester_name: null, requester_email: null, requester_groups: '[]',
        duration_seconds: 900, reason: '', ticket: null, break_glass: 0, extends_grant_id: null, public_key: null, state: 'revoked',
        approvals_required: 0, approver_groups: '[]', flagged: 0, created_at: now, updated_at: now, pending_expires_at: now, grant_id: grantId,
      });
      grants.push({
        id: grantId, request_id: requestId, system_id: systemId, grantee_sub: 'alice', grantee_name: null, grantee_email: null, provider: 'ssh',
        state: 'ended', starts_at: now - 10 * MINUTE, expires_at: live ? now + 10 * MINUTE : now - MINUTE, ended_at: now, end_reason: live ? 'released' : 'expired',
        env_names: '[]', credential_sealed: null, provider_state: JSON.stringify({ serials: [String(i + 1)], caPublicKey: edCaLine }),
        warned: 0, revoke_attempts: 0, next_attempt_at: null, lease_owner: null, lease_until: null, revoke_count: 1, last_error: null,
      });
    }
    const db = h.server.store.db;
    for (let i = 0; i < requests.length; i += 200) {
      await db.insertInto('requests').values(requests.slice(i, i + 200)).execute();
      await db.insertInto('grants').values(grants.slice(i, i + 200)).execute();
    }
    let size = 0;
    const build = await time(10, async () => {
      size = (await krlNow()).length;
    });
    const serials = Array.from({ length: 10_000 }, (_, i) => BigInt(i + 1) * 7919n);
    const encode = await time(10, () => encodeKrl({ authorities: [{ caPublicKey: edCaLine, serials }], generatedAt: now }));
    console.log(
      `[ssh timing, ${engine}] issue ed25519 CA: ${issueEd.toFixed(2)} ms, issue RSA-3072 CA: ${issueRsa.toFixed(2)} ms (median of 10); ` +
        `buildKrl over 2000 ended grants (1000 listed): ${build.toFixed(2)} ms, ${size} bytes; encodeKrl of 10000 serials: ${encode.toFixed(2)} ms`,
    );
    expect(size).toBeGreaterThan(8000);
  });
});
