import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config';
import { openDatabase, type DatabaseHandle } from '../db/database';
import { DataDirInUseError } from '../db/embedded/data-dir-lock';
import { AppError } from '../shared/errors';

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

export const defaultIo: CliIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env };

/** One operator command (`keys`, `orgs`): its usage, argument parser and the work it does on the database. */
export interface OperatorCommand<A extends { readonly command: string }> {
  readonly name: string;
  readonly usage: string;
  parse(argv: readonly string[]): A;
  /** What to do instead when another process holds the embedded data directory. */
  readonly inUseHint: string;
  /** The table whose absence means the database was never migrated. */
  readonly table: string;
  run(args: A, database: DatabaseHandle, config: Config, io: CliIo): Promise<number>;
}

/**
 * The frame every operator command shares: --help, bad usage (exit 2), opening DATABASE_URL or
 * the embedded DATA_DIR (one clear line when there is none or another process holds it), coded
 * refusals (exit 1), and closing the database whatever happened.
 */
export async function runOperatorCommand<A extends { readonly command: string }>(cmd: OperatorCommand<A>, argv: readonly string[], io: CliIo): Promise<number> {
  let args: A;
  try {
    if (argv[0] === '--help' || argv[0] === '-h') {
      io.stdout(`${cmd.usage}\n`);
      return 0;
    }
    args = cmd.parse(argv);
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${cmd.usage}\n`);
    return 2;
  }
  let database: DatabaseHandle | undefined;
  try {
    const config = loadConfig({ ...io.env, LOG_LEVEL: 'silent' });
    if (!config.database.url && !fs.existsSync(path.join(path.resolve(config.dataDir), 'PG_VERSION'))) {
      io.stderr(`No embedded database in DATA_DIR ${path.resolve(config.dataDir)}: start the gateway once (npm start), or set DATABASE_URL.\n`);
      return 1;
    }
    database = await openDatabase(config, { holder: `${cmd.name} CLI` });
    return await cmd.run(args, database, config, io);
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      io.stderr(`${err.message}\nThe ${cmd.name} CLI does not open a data directory another process has open${cmd.inUseHint}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      io.stderr(`${err.message}\n`);
      return 1;
    }
    if (err instanceof AppError) {
      io.stderr(`${err.extensions.code}: ${err.message}\n`);
      return 1;
    }
    if ((err as { code?: string }).code === '42P01') {
      io.stderr(`The database has no ${cmd.table} table yet: run \`npm run db:migrate\` (or start the gateway once) first.\n`);
      return 1;
    }
    io.stderr(`${cmd.name} ${args.command} failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await database?.close().catch(() => undefined);
  }
}
