// The docs live in this repository and say where things are: every link in the README and in
// docs/ leads to a file here (or to this machine), none leaves the repository.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', 'bench/README.md', 'scripts/glewlwyd/README.md', ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].filter((p) => existsSync(join(REPO, p)));

/** Markdown links outside code blocks: [text](target). */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('the documentation', () => {
  it.each(pages)('%s links only to files in this repository', (page) => {
    const text = readFileSync(join(REPO, page), 'utf8');
    for (const target of links(text)) {
      expect(target, `${page} links to ${target}`).not.toMatch(/^[a-z]+:/i);
      const file = resolve(join(REPO, dirname(page)), target.split('#')[0]!);
      expect(relative(REPO, file).startsWith('..'), `${page} links outside the repository: ${target}`).toBe(false);
      expect(existsSync(file), `${page} links to a missing file: ${target}`).toBe(true);
    }
  });
});
