import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { RuntimePaths } from './paths';

export interface PromptGrant {
  systemId: string;
  /** Epoch seconds: shells compare it with $EPOCHSECONDS without spawning anything. */
  expiresAt: number;
}

/** Replaces a file atomically, so a shell reading it mid-write never sees half a number. */
function writeAtomic(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, path);
}

export function readRevision(paths: Pick<RuntimePaths, 'revision'>): number {
  try {
    const value = Number(readFileSync(paths.revision, 'utf8').trim());
    return Number.isSafeInteger(value) && value >= 0 ? value : 0;
  } catch {
    return 0;
  }
}

/**
 * Publishes a new revision for the shell hooks, plus the non-secret deadlines `stint prompt`
 * shows. The revision only ever grows (a restart continues from the file), so a shell that
 * saw N never mistakes a later state for the one it already has.
 */
export function publishRevision(paths: RuntimePaths, revision: number, grants: readonly PromptGrant[]): void {
  // One "system expiresAt" pair per line: trivially parsed by a shell's `read` builtin.
  writeAtomic(paths.grants, grants.map((g) => `${g.systemId} ${g.expiresAt}\n`).join(''));
  writeAtomic(paths.revision, `${revision}\n`);
}
