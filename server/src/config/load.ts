import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ServerConfig, type SecretRef } from './schema';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid Stint configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates a YAML config; every problem names its key path and line. */
export function loadConfigFile(file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  return resolveRelativeFiles(parseConfigText(text, file), dirname(resolve(file)));
}

/**
 * Files named in a config ({ file: ... } secret references, a webhook's caFile, an on-call rota
 * file) are relative to the config file, as an operator reading it would assume, not to wherever
 * the server started.
 */
export function resolveRelativeFiles(config: ServerConfig, baseDir: string): ServerConfig {
  const fix = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => fix(v));
    if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 1 && entries[0]![0] === 'file' && typeof entries[0]![1] === 'string') return { file: resolve(baseDir, entries[0]![1]) };
      return Object.fromEntries(entries.map(([k, v]) => [k, fix(v, k)]));
    }
    return key === 'caFile' && typeof value === 'string' ? resolve(baseDir, value) : value;
  };
  const sources = Object.entries(config.onCall.sources).map(([name, source]) => [
    name,
    source.type === 'file' ? { ...source, path: resolve(baseDir, source.path) } : fix(source),
  ]);
  return {
    ...config,
    credentialKey: fix(config.credentialKey) as ServerConfig['credentialKey'],
    onCall: { ...config.onCall, sources: Object.fromEntries(sources) as ServerConfig['onCall']['sources'] },
    systems: config.systems.map((system) => ({ ...system, provider: { ...system.provider, settings: fix(system.provider.settings) as Record<string, unknown> } })),
  };
}

export function parseConfigText(text: string, file = 'config'): ServerConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`),
    );
  }
  const result = ServerConfig.safeParse(doc.toJS());
  if (!result.success) throw new ConfigError(file, describeIssues(result.error.issues, doc, lineCounter));
  return result.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], doc: Document, lines: LineCounter): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String);
    const key = path.length > 0 ? path.join('.') : '(top level)';
    return `${key} (line ${lineOf(doc, lines, issue.path)}): ${issue.message}`;
  });
}

/** Finds the line of a key path in a YAML text (for errors found after parsing, e.g. by providers). */
export function yamlLines(text: string): (path: readonly PropertyKey[]) => number {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  return (path) => lineOf(doc, lines, path);
}

/** The line of the deepest node that exists along the path (a missing key points at its parent). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** Resolves a secret reference at boot, with an error that names the key that asked for it. */
export function readSecret(ref: SecretRef, key: string, baseDir = process.cwd(), env = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new Error(`${key}: the environment variable ${ref.env} is not set`);
    return value;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    const value = readFileSync(path, 'utf8').trim();
    if (!value) throw new Error('empty');
    return value;
  } catch (error) {
    throw new Error(`${key}: cannot read the secret file ${path} (${(error as NodeJS.ErrnoException).code ?? 'empty'})`);
  }
}
