import { createHash } from 'node:crypto';
import type { AuditEntry } from '@stint/contract';
import type { Kysely } from 'kysely';
import { appendHead, type Store } from '../store/database';
import { insertRows } from '../store/insert';
import type { AuditRow, Database } from '../store/schema';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRecord {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  /** Never a secret: ids, states, durations, reasons. */
  detail?: Record<string, unknown>;
}

/** The hash covers every column but itself, so changing any of them breaks the chain there. */
export function hashAuditRow(row: Omit<AuditRow, 'hash'>): string {
  const canonical = JSON.stringify([row.seq, row.at, row.actor, row.action, row.target_type, row.target_id, row.detail, row.prev_hash]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Appends records inside the caller's transaction, chained to the head it reads there (under
 * the append lock on PostgreSQL; SQLite has one writer at a time): the chain's integrity rests
 * on the database's own transaction, never on something remembered between appends.
 */
export async function appendAudit(store: Pick<Store, 'dialect'>, trx: Kysely<Database>, at: number, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  await insertRows(store, trx, 'audit', chainedRows(await appendHead(store, trx), at, records));
}

/** The rows that extend the chain from `head` (read under the append lock), each hashed. */
export function chainedRows(head: { seq: number; hash: string } | undefined, at: number, records: readonly AuditRecord[]): AuditRow[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  return records.map((record) => {
    seq += 1;
    const base = {
      seq,
      at,
      actor: record.actor,
      action: record.action,
      target_type: record.targetType,
      target_id: record.targetId,
      detail: JSON.stringify(record.detail ?? {}),
      prev_hash: prevHash,
    };
    const hash = hashAuditRow(base);
    prevHash = hash;
    return { ...base, hash };
  });
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export type VerifyResult = { ok: true; rows: number } | { ok: false; rows: number; seq: number; problem: string };

/** Walks the whole chain in order and names the first row that does not hold. */
export async function verifyAudit(db: Kysely<Database>, batch = 1000): Promise<VerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const rows = await db.selectFrom('audit').selectAll().where('seq', '>=', expectedSeq).orderBy('seq').limit(batch).execute();
    for (const row of rows) {
      const checked = expectedSeq - 1;
      if (row.seq !== expectedSeq) return { ok: false, rows: checked, seq: expectedSeq, problem: `row ${expectedSeq} is missing` };
      if (row.prev_hash !== prevHash) return { ok: false, rows: checked, seq: row.seq, problem: `row ${row.seq} does not chain to row ${row.seq - 1}` };
      if (hashAuditRow(row) !== row.hash) return { ok: false, rows: checked, seq: row.seq, problem: `row ${row.seq} was altered (its contents do not match its hash)` };
      prevHash = row.hash;
      expectedSeq += 1;
    }
    if (rows.length < batch) return { ok: true, rows: expectedSeq - 1 };
  }
}

const CSV_COLUMNS = ['seq', 'at', 'actor', 'action', 'targetType', 'targetId', 'detail', 'prevHash', 'hash'] as const;
/** One CSV cell: quoted where needed, and never a formula. */
export const csvCell = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // A leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** Streams the audit log as JSON lines or CSV, in chain order. */
export async function* exportAudit(db: Kysely<Database>, format: 'jsonl' | 'csv', batch = 1000): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
  let after = 0;
  for (;;) {
    const rows = await db.selectFrom('audit').selectAll().where('seq', '>', after).orderBy('seq').limit(batch).execute();
    for (const row of rows) {
      const entry = toAuditEntry(row);
      yield format === 'jsonl' ? `${JSON.stringify(entry)}\n` : `${CSV_COLUMNS.map((c) => csvCell(entry[c])).join(',')}\n`;
      after = row.seq;
    }
    if (rows.length < batch) return;
  }
}
