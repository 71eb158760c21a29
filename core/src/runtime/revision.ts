import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimePaths } from './paths';

export interface PromptGrant {
  systemId: string;
  /** Epoch seconds: shells compare it with $EPOCHSECONDS without spawning anything. */
  expiresAt: number;
}

/**
 * Replaces a file atomically, so a shell reading it mid-write never sees half a number. A
 * write that fails (a full disk) leaves the old file and no temporary one.
 */
function writeAtomic(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, { mode: 0o600 });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function readRevision(paths: Pick<RuntimePaths, 'revision'>): number {
  return revisionInFile(paths) ?? 0;
}

/** The revision the file holds; null when there is no file or it holds no plain number. */
function revisionInFile(paths: Pick<RuntimePaths, 'revision'>): number | null {
  let text: string;
  try {
    text = readFileSync(paths.revision, 'utf8').trim();
  } catch {
    return null;
  }
  const value = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(value) ? value : null;
}

/** The marker a shell that saw revision N looks for at each prompt (see cli/src/shell.ts). */
const seenMarker = (revision: number) => `seen-${revision}`;

/**
 * Publishes a new revision for the shell hooks, plus the non-secret deadlines `stint prompt`
 * shows. The revision only ever grows (a restart continues from the file), so a shell that
 * saw N never mistakes a later state for the one it already has.
 *
 * Beside it, an empty marker file `seen-N` for the revision just published. A prompt with
 * nothing new asks only whether the marker of the revision it saw still exists (one `stat`,
 * no file read, no redirection, which were the costly part of a prompt hook). So a marker must
 * never outlive its revision: every marker goes first, then the revision is written, then its
 * marker. Cut short anywhere, no marker vouches for an old revision, and shells read the file.
 */
export function publishRevision(paths: RuntimePaths, revision: number, grants: readonly PromptGrant[]): void {
  // One "system expiresAt" pair per line: trivially parsed by a shell's `read` builtin.
  writeAtomic(paths.grants, grants.map((g) => `${g.systemId} ${g.expiresAt}\n`).join(''));
  removeSeenMarkers(paths);
  writeAtomic(paths.revision, `${revision}\n`);
  writeFileSync(join(paths.dir, seenMarker(revision)), '', { mode: 0o600 });
}

/**
 * At start, the marker of the revision in the file, and no other: a crash may have left one
 * behind. At stop, none: an agent that writes the revision without markers (an older version
 * run on the same folder) must not find one vouching for a revision it then moves.
 */
export function refreshSeenMarker(paths: RuntimePaths, running: boolean): void {
  removeSeenMarkers(paths);
  // No revision yet: shells have nothing to compare, and no marker to find.
  const revision = running ? revisionInFile(paths) : null;
  if (revision !== null) writeFileSync(join(paths.dir, seenMarker(revision)), '', { mode: 0o600 });
}

function removeSeenMarkers(paths: RuntimePaths): void {
  for (const name of readdirSync(paths.dir)) if (/^seen-\d+$/.test(name)) rmSync(join(paths.dir, name), { force: true });
}
