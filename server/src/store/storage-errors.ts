// What went wrong with the database, in words for the person whose request failed, from the
// errors the two drivers throw (better-sqlite3's SqliteError codes, node-postgres's connection
// errors and SQLSTATEs). A storage failure is the server's, and passes: 503 with Retry-After,
// never an opaque 500.

export interface StorageProblem {
  kind: 'unreachable' | 'full' | 'read_only' | 'busy';
  message: string;
  retryAfterSeconds: number;
}

// "Nothing was changed" cannot be promised: a request may be stored and only a later step (the
// grant's issue, say) fail, so the words send people to look before they try again.
const MESSAGES: Record<StorageProblem['kind'], string> = {
  unreachable: 'The Stint server cannot reach its database right now. Try again in a moment (check your requests first: this one may have been saved); if it persists, tell your Stint admin (the database is down or unreachable).',
  full: 'The Stint server cannot write: its database storage is full. Tell your Stint admin (free disk space for the database); check your requests before trying again, as this one may be partly saved.',
  read_only: 'The Stint server cannot write: its database is read-only right now. Tell your Stint admin; check your requests before trying again.',
  busy: 'The Stint server is busy writing. Try again in a moment.',
};

const problem = (kind: StorageProblem['kind'], retryAfterSeconds: number): StorageProblem => ({ kind, message: MESSAGES[kind], retryAfterSeconds });

/** The storage problem behind an error, or null when it is not one. */
export function storageProblem(error: unknown): StorageProblem | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (typeof code === 'string') {
    // SQLite (better-sqlite3): SQLITE_FULL, SQLITE_READONLY_*, SQLITE_BUSY, SQLITE_IOERR_*, SQLITE_CANTOPEN.
    if (code === 'SQLITE_FULL') return problem('full', 60);
    if (code.startsWith('SQLITE_READONLY')) return problem('read_only', 60);
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return problem('busy', 1);
    if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') return /disk|space|full/i.test(text) ? problem('full', 60) : problem('unreachable', 5);
    // node-postgres: the connection itself.
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code)) return problem('unreachable', 5);
    // PostgreSQL SQLSTATEs: 08 connection exceptions, 57P01-03 shutting down / cannot connect now,
    // 53100 disk full, 53200 out of memory, 53300 too many connections, 25006 read-only transaction.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return problem('unreachable', 5);
    if (code === '53100') return problem('full', 60);
    if (code === '25006') return problem('read_only', 60);
  }
  // node-postgres when the server went away mid-query, or the pool gave up connecting.
  if (/Connection terminated|connection timeout|Client has encountered a connection error/i.test(text)) return problem('unreachable', 5);
  return null;
}
