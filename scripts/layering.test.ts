import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The layering rule itself: an import crossing the wrong way must fail lint (STYLE.md). */
describe('layering', () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const lint = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: file });
    return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };

  it.each([
    ['server/src/x.ts', "import { x } from '@stint/core';"],
    ['core/src/x.ts', "import { x } from '../../server/src/server';"],
    ['contract/src/x.ts', "import { x } from '@stint/server';"],
    ['renderer/src/x.ts', "import { x } from '@stint/core';"],
    ['cli/src/x.ts', "import { x } from '@stint/core';"],
    ['core/src/x.ts', "import { app } from 'electron';"],
    ['renderer/src/x.ts', "import { ipcRenderer } from 'electron';"],
    ['electron/src/x.ts', "import { x } from '@stint/server';"],
    ['electron/src/x.ts', "import { x } from '../../renderer/src/App';"],
  ])('refuses %s importing %s', async (file, code) => {
    expect(await lint(file, code)).not.toEqual([]);
  });

  it.each([
    ['server/src/x.ts', "import { x } from '@stint/contract';"],
    ['core/src/x.ts', "import { x } from '@stint/contract';"],
    ['cli/src/agent/x.ts', "import { x } from '@stint/core';"],
    ['electron/src/x.ts', "import { app } from 'electron';"],
    ['electron/src/y.ts', "import { x } from '@stint/core';"],
  ])('allows %s importing %s', async (file, code) => {
    expect(await lint(file, code)).toEqual([]);
  });
});
