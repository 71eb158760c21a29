// The revision the shell hooks watch. A prompt with nothing new only asks whether the marker of
// the revision it saw is still there (one stat, no file read), so the agent must keep exactly
// one marker, for the revision it published last, and remove it only after the new revision
// is readable.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runtimePaths, type RuntimePaths } from './paths';
import { publishRevision, readRevision, refreshSeenMarker } from './revision';

describe('publishRevision', () => {
  let paths: RuntimePaths;
  beforeEach(() => {
    paths = runtimePaths({ STINT_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'stint-revision-')) }, 'linux');
  });
  afterEach(() => rmSync(paths.dir, { recursive: true, force: true }));
  const markers = () => readdirSync(paths.dir).filter((name) => name.startsWith('seen-')).sort();

  it('keeps one marker, for the revision it published last', () => {
    publishRevision(paths, 1, []);
    expect(markers()).toEqual(['seen-1']);
    publishRevision(paths, 2, [{ systemId: 'staging-db', expiresAt: 1_800_000_000 }]);
    expect(markers()).toEqual(['seen-2']);
    expect(readRevision(paths)).toBe(2);
    expect(readFileSync(paths.grants, 'utf8')).toBe('staging-db 1800000000\n');
  });

  it("removes markers an agent that stopped left behind, so no shell keeps trusting one", () => {
    writeFileSync(join(paths.dir, 'seen-7'), '');
    writeFileSync(join(paths.dir, 'seen-3'), '');
    writeFileSync(join(paths.dir, 'unrelated'), 'kept');
    publishRevision(paths, 8, []);
    expect(markers()).toEqual(['seen-8']);
    expect(readdirSync(paths.dir)).toContain('unrelated');
  });

  it('at start leaves only the marker of the revision in the file; at stop, none', () => {
    publishRevision(paths, 5, []);
    writeFileSync(join(paths.dir, 'seen-4'), ''); // a crash left it
    refreshSeenMarker(paths, true);
    expect(markers()).toEqual(['seen-5']);
    refreshSeenMarker(paths, false);
    expect(markers()).toEqual([]);
    rmSync(paths.revision);
    refreshSeenMarker(paths, true);
    expect(markers()).toEqual([]);
  });

  it('leaves no half-written file behind when a write fails (a full disk), and the revision and its marker as they were', () => {
    publishRevision(paths, 3, []);
    // The grants file cannot be replaced: a folder stands in its place (root ignores modes,
    // and a full disk needs a mount; the failing write takes the same path).
    rmSync(paths.grants);
    mkdirSync(paths.grants);
    expect(() => publishRevision(paths, 4, [])).toThrow();
    expect(readdirSync(paths.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(readRevision(paths)).toBe(3);
    expect(markers()).toEqual(['seen-3']);
  });
});
