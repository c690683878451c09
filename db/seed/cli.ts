import { refreshRollups } from '../../src/db/rollup-refresh';
import { runSeedCli } from './cli-main';

runSeedCli(process.argv.slice(2), { refreshRollups: (handle) => refreshRollups(handle) }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`seed failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
