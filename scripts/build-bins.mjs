// `npm install`'s last step (the root package's postinstall): builds the `stint` and
// `stint-server` commands into plain JavaScript (cli/dist, server/dist), which their launchers
// in node_modules/.bin run. Tests and watch mode keep running the TypeScript sources.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const script of ['cli/build.mjs', 'server/build.mjs']) {
  execFileSync(process.execPath, [join(repo, script)], { stdio: 'inherit' });
}
console.log('stint: built the `stint` and `stint-server` commands (node_modules/.bin; `npm link -w @stint/cli` puts `stint` on your PATH).');
