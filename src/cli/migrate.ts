import { askOnTerminal, runMigrateCli } from './migrate-cli';

/** `npm run db:migrate [-- --status | --down [--yes] | --help]`: see migrate-cli.ts. */
runMigrateCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  confirm: process.stdin.isTTY && process.stderr.isTTY ? askOnTerminal : undefined,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`db:migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
