import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The marker a shell that saw revision N looks for at each prompt (see cli/src/shell.ts). */
export const seenMarker = (revision: number) => `seen-${revision}`;

/**
 * Publishes a new revision for the shell hooks, plus the non-secret deadlines `stint prompt`
 * shows. The revision only ever grows (a restart continues from the file), so a shell that
 * saw N never mistakes a later state for the one it already has.
 *
 * Beside it, an empty marker file `seen-N` for the revision just published. A prompt with
 * nothing new asks only whether the marker of the revision it saw still exists and the
 * revision file is not newer (two `stat`s, no file read, no redirection, which were the
 * costly part of a prompt hook). So the order matters: the revision first, then every other
 * marker goes (this agent's last one, and any a stopped agent left), then the new marker, so
 * a shell that finds its marker gone finds the new revision already there. Cut short anywhere
 * after the revision, the old marker is gone or older than the revision: shells read it.
 */
export function publishRevision(paths: RuntimePaths, revision: number, grants: readonly PromptGrant[]): void {
  // One "system expiresAt" pair per line: trivially parsed by a shell's `read` builtin.
  writeAtomic(paths.grants, grants.map((g) => `${g.systemId} ${g.expiresAt}\n`).join(''));
  writeAtomic(paths.revision, `${revision}\n`);
  const current = seenMarker(revision);
  for (const name of readdirSync(paths.dir)) {
    if (name !== current && /^seen-\d+$/.test(name)) rmSync(join(paths.dir, name), { force: true });
  }
  writeFileSync(join(paths.dir, current), '', { mode: 0o600 });
}
