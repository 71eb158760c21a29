import type { Kysely } from 'kysely';
import type { AccessContext } from '../access/context';
import type { SystemConfig } from '../config/schema';
import type { StintApp } from '../http/app';
import type { Database } from '../store/schema';
import { BUNDLE_TYPE, bundleMemberStates, bundleMemberSystems } from './bundle';
import { configuredCaPublicKey, parsePublicKey, readSshState, SshWriter } from './ssh';

// OpenSSH key revocation lists (PROTOCOL.krl). Stint writes only certificate sections that
// list serials: every certificate it issues has its own random serial, so a list is as small
// as any other form (random serials leave no runs for ranges or bitmaps to compress).

const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const KRL_FORMAT_VERSION = 1;
const KRL_SECTION_CERTIFICATES = 1;
const KRL_SECTION_CERT_SERIAL_LIST = 0x20;
const U64_MAX = (1n << 64n) - 1n;

export interface RevokedCertificates {
  /** The CA that signed them: a public key line ("ssh-ed25519 AAAA...") or its wire blob. */
  caPublicKey: string | Buffer;
  serials: readonly bigint[];
}

export interface KrlInput {
  /** One certificates section per CA. */
  authorities: readonly RevokedCertificates[];
  /** Epoch milliseconds; also the krl_version, so a later list has a higher version. */
  generatedAt: number;
  comment?: string;
}

const caBlob = (ca: string | Buffer) => (typeof ca === 'string' ? parsePublicKey(ca).blob : ca);

/**
 * Encodes a KRL that revokes the given certificate serials. Serials are checked before any
 * byte is written: sshd refuses a whole KRL that lists serial 0 and, failing closed, then
 * refuses every key — one bad entry would lock everyone out of every host using the list.
 */
export function encodeKrl(input: KrlInput): Buffer {
  const comment = input.comment ?? '';
  if (comment.includes('\0')) throw new Error('a KRL comment may not contain NUL');
  const header = new SshWriter()
    .u32(KRL_FORMAT_VERSION)
    .u64(BigInt(Math.max(0, Math.floor(input.generatedAt))))
    .u64(BigInt(Math.max(0, Math.floor(input.generatedAt / 1000))))
    .u64(0n) // flags: none defined
    .string(Buffer.alloc(0)) // reserved
    .string(comment)
    .toBuffer();
  const sections: Buffer[] = [];
  // Merge by CA so each CA has exactly one section, whatever the caller passed.
  const byCa = new Map<string, { blob: Buffer; serials: Set<bigint> }>();
  for (const authority of input.authorities) {
    const blob = caBlob(authority.caPublicKey);
    const entry = byCa.get(blob.toString('base64')) ?? { blob, serials: new Set<bigint>() };
    byCa.set(blob.toString('base64'), entry);
    for (const serial of authority.serials) {
      if (serial <= 0n || serial > U64_MAX) throw new Error(`serial ${serial} is outside 1..2^64-1 and cannot be listed in a KRL`);
      entry.serials.add(serial);
    }
  }
  for (const { blob, serials } of byCa.values()) {
    if (serials.size === 0) continue;
    const list = new SshWriter();
    // Sorted, so the same revocations always give the same bytes (cacheable, diffable).
    for (const serial of [...serials].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) list.u64(serial);
    const section = new SshWriter()
      .string(blob)
      .string(Buffer.alloc(0)) // reserved
      .u8(KRL_SECTION_CERT_SERIAL_LIST)
      .string(list.toBuffer())
      .toBuffer();
    sections.push(new SshWriter().u8(KRL_SECTION_CERTIFICATES).string(section).toBuffer());
  }
  return Buffer.concat([KRL_MAGIC, header, ...sections]);
}

/** End reasons that cut a certificate short; "expired" needs no entry, the certificate lapsed. */
const EARLY_END_REASONS = ['released', 'revoked', 'failed'];
const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/**
 * How long past a grant's deadline its serials stay listed: a host whose clock runs behind
 * still accepts a certificate after its validBefore by our clock, so a revoked one must stay
 * on the list until the slowest tolerated clock has passed the deadline too.
 */
function listingGraceMs(systems: Iterable<SystemConfig>): number {
  let seconds = DEFAULT_CLOCK_SKEW_SECONDS;
  for (const system of systems) {
    const skew = system.provider.settings.clockSkewSeconds;
    if (typeof skew === 'number' && skew > seconds) seconds = skew;
  }
  return seconds * 1000;
}

/**
 * The KRL for every ssh grant that ended early and whose certificates could still be valid
 * (expires_at still ahead, give or take clock skew). Built from the grants table, so all replicas serve the same list
 * and it survives restarts; it shrinks again as those grants pass their original deadline.
 *
 * A grant counts from the moment it leaves "active" ("revoking"), not only once the sweeper
 * has marked it "ended". A row with serials but no readable CA is an error, not a skip:
 * silently dropping it would leave a revoked certificate working.
 */
export async function buildKrl(db: Kysely<Database>, systems: readonly SystemConfig[], now: number): Promise<Buffer> {
  const sshSystems = new Map(systems.filter((s) => s.provider.type === 'ssh').map((s) => [s.id, s]));
  // A bundle's SSH members certify keys too: its grants list their serials under the member.
  const sshMembers = new Map(systems.flatMap((s) => bundleMemberSystems(s).filter((m) => m.provider.type === 'ssh').map((m) => [`${s.id}/${m.id}`, m] as const)));
  const systemIds = [...sshSystems.keys(), ...new Set([...sshMembers.keys()].map((key) => key.split('/')[0]!))];
  const rows = await db
    .selectFrom('grants')
    .select(['id', 'system_id', 'provider', 'provider_state'])
    .where((eb) => eb.or([eb('provider', 'in', ['ssh', BUNDLE_TYPE]), ...(systemIds.length > 0 ? [eb('system_id', 'in', systemIds)] : [])]))
    .where((eb) => eb.or([eb('state', '=', 'revoking'), eb.and([eb('state', '=', 'ended'), eb('end_reason', 'in', EARLY_END_REASONS)])]))
    .where('expires_at', '>', now - listingGraceMs([...sshSystems.values(), ...sshMembers.values()]))
    .execute();
  const authorities: RevokedCertificates[] = [];
  for (const row of rows) {
    let state: Record<string, unknown>;
    try {
      state = (JSON.parse(row.provider_state ?? '{}') as Record<string, unknown>) ?? {};
    } catch {
      throw new Error(`grant ${row.id}: provider_state is not JSON; cannot list its certificates`);
    }
    const parts = row.provider === BUNDLE_TYPE ? bundleMemberStates(state).map(([memberId, memberState]) => ({ state: memberState, system: sshMembers.get(`${row.system_id}/${memberId}`) })) : [{ state, system: sshSystems.get(row.system_id) }];
    for (const part of parts) {
      const { serials = [], caPublicKey } = readSshState(part.state);
      if (serials.length === 0) continue; // issuing failed, or not an SSH member: no certificate was ever handed out
      const ca = caPublicKey ?? (part.system ? configuredCaPublicKey(part.system).line : undefined);
      if (!ca) throw new Error(`grant ${row.id}: no CA is known for its certificates (system ${row.system_id} is not configured)`);
      const parsed = serials.map((s) => {
        if (!/^[0-9]{1,20}$/.test(s)) throw new Error(`grant ${row.id}: serial "${s}" is not a decimal number`);
        return BigInt(s);
      });
      authorities.push({ caPublicKey: ca, serials: parsed });
    }
  }
  return encodeKrl({ authorities, generatedAt: now, comment: 'stint: ssh certificates of grants ended early' });
}

/**
 * GET /v1/ssh/krl: the current KRL for sshd's RevokedKeys. Public, because hosts fetch it
 * with no user token; it holds CA public keys and random serials only, nothing secret.
 *
 * Unauthenticated requests are not rate limited (see app.ts), so concurrent requests share one
 * build and a result is reused for up to maxAgeMs: a flood of fetches costs one query a second.
 */
export function registerKrlRoute(app: StintApp, deps: { ctx: AccessContext; maxAgeMs?: number }): void {
  const { ctx } = deps;
  const maxAgeMs = deps.maxAgeMs ?? 1000;
  let cached: { at: number; body: Promise<Buffer> } | null = null;
  const current = (): Promise<Buffer> => {
    const at = performance.now();
    if (cached && at - cached.at < maxAgeMs) return cached.body;
    const body = buildKrl(ctx.store.db, ctx.config().systems, ctx.now());
    const entry = { at, body };
    cached = entry;
    // A failed build must not be served from the cache.
    body.catch(() => {
      if (cached === entry) cached = null;
    });
    return body;
  };
  app.get(
    '/v1/ssh/krl',
    {
      config: { public: true },
      schema: {
        summary: 'OpenSSH key revocation list',
        description: 'Certificates of ssh grants that ended early, for sshd RevokedKeys. Fetch often; replace the file atomically.',
        security: [],
      },
    },
    async (_request, reply) => {
      const body = await current();
      return reply.header('content-type', 'application/octet-stream').header('cache-control', 'no-store').send(body);
    },
  );
}
