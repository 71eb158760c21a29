#!/usr/bin/env node
// The `stint` command. The quick commands (quick.ts) run without loading the rest; anything
// else goes to the full parser in main.ts, loaded only then (a separate chunk of the bundle).
import { quickCommand } from './quick';
import { CliError } from './errors';
import { visibleText } from '@stint/contract/plain';

// `stint grants | head`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw error;
});

const argv = process.argv.slice(2);
const quick = quickCommand(argv);
if (quick) {
  quick().then(
    () => (process.exitCode ??= 0),
    (error: unknown) => {
      console.error(`stint: ${visibleText((error as Error).message, { multiline: true })}`);
      process.exitCode = error instanceof CliError ? error.exit : 1;
    },
  );
} else {
  import('./main')
    .then(({ main }) => main(argv))
    .then((code) => {
      process.exitCode = code;
    });
}
