// The prompt hook's fast path trusts the `seen-N` marker of the revision a shell saw (the agent
// never lets one outlive its revision: core/src/runtime/revision.ts). A prompt with nothing new
// runs nothing; the prompt after a publish runs `stint env` once; a shell that loads the hook
// again for another folder does not watch the old folder's marker.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hookScript } from '../src/shell';

describe.each(['bash', 'zsh', 'fish'] as const)('the %s hook and the seen-N marker', (shell) => {
  let scratch: string;
  let ranLog: string;
  let fakeStint: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'stint-hook-markers-'));
    ranLog = join(scratch, 'ran');
    // Stands in for `stint env`: notes that it ran, exports nothing.
    fakeStint = join(scratch, 'fake-stint');
    writeFileSync(fakeStint, `#!/bin/sh\necho ran >> '${ranLog}'\n`);
    chmodSync(fakeStint, 0o755);
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  /** A runtime folder as the agent leaves it after publishing `revision` (core/src/runtime/revision.ts). */
  const folder = (name: string, revision: number) => {
    const dir = join(scratch, name);
    const paths = { dir, revision: join(dir, 'revision') };
    execFileSync('mkdir', ['-m', '700', dir]);
    writeFileSync(paths.revision, `${revision}\n`, { mode: 0o600 });
    writeFileSync(join(dir, `seen-${revision}`), '', { mode: 0o600 });
    const hook = join(scratch, `${name}.${shell}`);
    writeFileSync(hook, hookScript(shell, paths, fakeStint));
    return { paths, hook };
  };
  const load = (hook: string) => (shell === 'fish' ? `source '${hook}'` : `. '${hook}'`);
  const runs = (script: string) => {
    rmSync(ranLog, { force: true });
    // The hook's own status is the prompt's business; the script's is true.
    execFileSync(shell, shell === 'fish' ? ['--no-config', '-c', `${script}; true`] : ['-c', `${script}; true`], { encoding: 'utf8' });
    try {
      return readFileSync(ranLog, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };

  it('runs stint once a publish moved the revision, and not at prompts with nothing new', () => {
    const { paths, hook } = folder('a', 3);
    // What publishRevision does, in its order: markers out, the revision, its marker.
    const publish = `rm '${paths.dir}/seen-3'; printf '4\\n' > '${paths.revision}.tmp'; mv '${paths.revision}.tmp' '${paths.revision}'; : > '${paths.dir}/seen-4'`;
    expect(runs(`${load(hook)}; __stint_hook; __stint_hook; ${publish}; __stint_hook; __stint_hook`)).toBe(2);
  });

  it('reads the revision at every prompt while there is no marker (a stopped agent removed it)', () => {
    const { paths, hook } = folder('a', 3);
    rmSync(join(paths.dir, 'seen-3'));
    const moveRevision = `printf '4\\n' > '${paths.revision}.tmp'; mv '${paths.revision}.tmp' '${paths.revision}'`;
    expect(runs(`${load(hook)}; __stint_hook; __stint_hook; ${moveRevision}; __stint_hook`)).toBe(2);
  });

  it('watches the new folder after the hook is loaded again for another one', () => {
    const a = folder('a', 3);
    const b = folder('b', 9);
    expect(runs(`${load(a.hook)}; __stint_hook; ${load(b.hook)}; __stint_hook`)).toBe(2);
  });
});
