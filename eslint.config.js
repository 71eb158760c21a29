// Layering (STYLE.md): contract and node-shared import nothing of ours; core and server import
// only contract and node-shared (Node-only helpers); cli imports those two (and core only from
// its agent command); renderer imports contract only; electron imports core and contract. A
// wrong import fails `npm test`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const part = (name) => [`**/${name}/src/**`, `@stint/${name}`, `@stint/${name}/*`];
const forbid = (...names) => ({
  patterns: names.map((name) => ({
    group: part(name),
    message: `This part may not import ${name}/ (see STYLE.md, "Layers you can see").`,
  })),
  paths: [{ name: 'electron', message: 'Only electron/ may import electron (DESIGN.md).' }],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.tsbuild/**', '**/out/**', '.stint-dev/**', 'coverage/**', '**/.dist-test-*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Tests read loosely-typed HTTP bodies; every such body is checked by assertions instead.
    files: ['**/*.test.ts', '**/test/**/*.ts', 'e2e/**/*.ts', 'test-support/**/*.ts', '**/*.fixture.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  { files: ['contract/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid('node-shared', 'server', 'core', 'cli', 'electron', 'renderer')] } },
  { files: ['node-shared/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid('contract', 'server', 'core', 'cli', 'electron', 'renderer')] } },
  { files: ['server/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid('core', 'cli', 'electron', 'renderer')] } },
  { files: ['core/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid('server', 'cli', 'electron', 'renderer')] } },
  { files: ['renderer/**/*.ts', 'renderer/**/*.tsx'], rules: { 'no-restricted-imports': ['error', forbid('node-shared', 'server', 'core', 'cli', 'electron')] } },
  {
    files: ['electron/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: forbid('server', 'cli', 'renderer').patterns }] },
  },
  {
    files: ['cli/**/*.ts'],
    ignores: ['cli/src/agent/**'],
    rules: { 'no-restricted-imports': ['error', forbid('server', 'core', 'electron', 'renderer')] },
  },
);
