// `auditSink:` in the server configuration: where audit rows are streamed as they are written
// (audit/sink.ts). A leaf module (zod only), so config/schema.ts can import it without a cycle.
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/**
 * A header's secret, named rather than written inline (the same shape as the config's SecretRef).
 * Files must be absolute: the sink reads them at start, without the config file's folder.
 */
const SinkSecret = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
  z.strictObject({ file: z.string().refine(isAbsolute, 'an absolute path') }),
]);
export type SinkSecret = z.infer<typeof SinkSecret>;

/**
 * https, except on the loopback interface: the body is the audit log and the headers usually
 * carry the collector's token, neither of which may cross a network in clear.
 */
const SinkUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL; give an https:// URL' });
    return;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    ctx.addIssue({ code: 'custom', message: `must be an https:// URL (got ${url.protocol}//): the audit log and the sink's token must not travel in clear` });
  }
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'put credentials in headers (as a secret reference), not in the URL' });
});

const HeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name')
  .refine((name) => !['content-type', 'content-length', 'host', 'transfer-encoding', 'connection'].includes(name.toLowerCase()), 'set by the sink itself');

/** Header names whose values are secrets, which the config names rather than holds. */
const SECRET_HEADER = /authorization|token|key|secret|cookie|password/i;

const common = {
  /** Names the delivery cursor in the database: keep it when changing the URL to go on where it was. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, ".", "_" and "-"').default('default'),
  /** A new cursor starts at the oldest row (the whole log is sent) or after the latest. */
  startAt: z.enum(['oldest', 'latest']).default('oldest'),
  /** Rows per delivery (an HTTP POST, or syslog messages written at once). */
  batchSize: z.number().int().min(1).max(1000).default(100),
  /** How often new rows are looked for. */
  pollMs: z.number().int().min(50).max(60_000).default(1000),
  /** Backoff while the sink fails: from initialMs, doubling, at most maxMs. */
  retry: z
    .strictObject({ initialMs: z.number().int().min(10).max(60_000).default(1000), maxMs: z.number().int().min(10).max(3_600_000).default(300_000) })
    .default({ initialMs: 1000, maxMs: 300_000 }),
};

export const AuditSinkConfig = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('http'),
      url: SinkUrl,
      headers: z
        .record(HeaderName, z.union([z.string().regex(/^[\t\x20-\x7e]*$/, 'printable ASCII'), SinkSecret]))
        .superRefine((headers, ctx) => {
          for (const [name, value] of Object.entries(headers)) {
            if (typeof value === 'string' && SECRET_HEADER.test(name)) {
              ctx.addIssue({ code: 'custom', path: [name], message: 'looks like a secret: give it as { env: NAME } or { file: /absolute/path }, not inline' });
            }
          }
        })
        .default({}),
      /** A POST that takes longer fails (and is retried). */
      timeoutMs: z.number().int().min(100).max(30_000).default(10_000),
      ...common,
    }),
    z.strictObject({
      type: z.literal('syslog'),
      host: z.string().min(1).max(253),
      port: z.number().int().min(1).max(65535).default(514),
      protocol: z.enum(['udp', 'tcp']),
      /** RFC 6587 framing over TCP: octet counting ("LEN MSG"), or one message per line. */
      framing: z.enum(['octet-counting', 'newline']).default('octet-counting'),
      /** The syslog facility number (13: log audit). */
      facility: z.number().int().min(0).max(23).default(13),
      appName: z.string().regex(/^[\x21-\x7e]{1,48}$/, 'printable ASCII without spaces, at most 48').default('stint'),
      ...common,
    }),
  ],
  { error: 'give type: http or syslog' },
);
export type AuditSinkConfig = z.output<typeof AuditSinkConfig>;
