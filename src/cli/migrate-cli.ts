import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { sql } from 'kysely';
import { ConfigError, loadConfig, type Config } from '../config';
import { openDatabase, type DatabaseHandle } from '../db/database';
import { DataDirInUseError } from '../db/embedded/data-dir-lock';
import { migrateAllDown, migrateToLatest, migrationStatus } from '../db/migrator';

/**
 * `npm run db:migrate [-- --status | --down [--yes]]`: applies pending migrations (idempotent),
 * lists them without changing anything, or undoes every one of them after a confirmation.
 * Exit codes: 0 done, 1 failed or refused (database busy or unreachable, not confirmed), 2 bad usage.
 */
export const MIGRATE_USAGE = `Usage: npm run db:migrate [-- --status | --down [--yes]]

Against DATABASE_URL, or without it the embedded database in DATA_DIR.
  (no flag)   apply every pending migration (running it again changes nothing)
  --status    list applied and pending migrations; changes nothing
  --down      undo EVERY migration: drops the gateway's tables with all their data
              (traces, scores, API keys, …); asks for confirmation on a terminal
  --yes, -y   confirm --down without asking (scripts, CI)
  --help, -h  this text
Exit codes: 0 done, 1 failed or not confirmed, 2 bad usage.`;

export interface MigrateArgs {
  readonly action: 'up' | 'status' | 'down' | 'help';
  readonly yes: boolean;
}

export class MigrateUsageError extends Error {}

export function parseMigrateArgs(argv: readonly string[]): MigrateArgs {
  let action = 'up' as MigrateArgs['action'];
  let yes = false;
  const set = (a: MigrateArgs['action'], flag: string) => {
    if (action !== 'up' && action !== a) throw new MigrateUsageError(`${flag} cannot be combined with --${action}`);
    action = a;
  };
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return { action: 'help', yes };
    else if (arg === '--status') set('status', arg);
    else if (arg === '--down') set('down', arg);
    else if (arg === '--yes' || arg === '-y') yes = true;
    else throw new MigrateUsageError(arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument ${arg}`);
  }
  if (yes && action !== 'down') throw new MigrateUsageError('--yes only confirms --down');
  return { action, yes };
}

export interface MigrateIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Asks on a terminal; absent (a pipe, CI): --down needs --yes. */
  readonly confirm?: (question: string) => Promise<boolean>;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** What --down would drop: the gateway's relations and how many rows the main ones hold. */
async function dropSummary(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string; kind: string }>`
    SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname NOT LIKE 'kysely_%' ORDER BY 1`.execute(handle.db);
  const names = rows.map((r) => r.name);
  const counted: string[] = [];
  for (const table of ['traces', 'scores', 'api_keys', 'orgs']) {
    if (!names.includes(table)) continue;
    const { rows: c } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM ${sql.table(table)}`.execute(handle.db);
    counted.push(`${table} ${fmt(Number(c[0]?.n ?? 0))} rows`);
  }
  return [`tables and views: ${names.join(', ') || '(none)'}`, ...(counted.length ? [`data: ${counted.join(', ')}`] : [])];
}

type Exit = { readonly exit: number };

/** Arguments and configuration, or the exit code after usage, help or a configuration error. */
function parseInvocation(argv: readonly string[], io: MigrateIo): { args: MigrateArgs; config: Config } | Exit {
  try {
    const args = parseMigrateArgs(argv);
    if (args.action === 'help') {
      io.stdout(`${MIGRATE_USAGE}\n`);
      return { exit: 0 };
    }
    return { args, config: loadConfig({ ...io.env, LOG_LEVEL: 'silent' }) };
  } catch (err) {
    if (err instanceof MigrateUsageError) {
      io.stderr(`db:migrate: ${err.message} (npm run db:migrate -- --help)\n`);
      return { exit: 2 };
    }
    if (err instanceof ConfigError) {
      io.stderr(`db:migrate: ${err.problems.join('; ')}\n`);
      return { exit: 2 };
    }
    throw err;
  }
}

async function openForMigrate(config: Config, io: MigrateIo): Promise<DatabaseHandle | Exit> {
  try {
    return await openDatabase(config, { holder: 'db:migrate' });
  } catch (err) {
    // One line: a gateway holding DATA_DIR, an unreachable server, a refused login.
    const message = err instanceof DataDirInUseError ? err.message : `cannot open the database: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    io.stderr(`db:migrate: ${message}\n`);
    return { exit: 1 };
  }
}

async function printStatus(database: DatabaseHandle, where: string, io: MigrateIo): Promise<number> {
  const states = await migrationStatus(database);
  const pending = states.filter((s) => !s.executedAt).length;
  io.stdout(`storage mode: ${database.mode} (${where})\n`);
  for (const s of states) io.stdout(`${s.executedAt ? 'applied' : 'pending'}  ${s.name}${s.executedAt ? `  ${s.executedAt.toISOString()}` : ''}\n`);
  io.stdout(pending ? `${pending} pending: npm run db:migrate applies them\n` : 'up to date\n');
  return 0;
}

/** Says what --down would drop and asks (unless --yes); null to go ahead, else the exit code. */
async function confirmDown(database: DatabaseHandle, where: string, yes: boolean, io: MigrateIo): Promise<number | null> {
  const applied = (await migrationStatus(database)).filter((s) => s.executedAt);
  if (!applied.length) {
    io.stdout('nothing to undo: no migration is applied\n');
    return 0;
  }
  const what = [`--down undoes ${applied.length} migrations (${applied.map((s) => s.name).join(', ')}) on the ${where} and drops, with all their data:`, ...(await dropSummary(database)).map((l) => `  ${l}`)];
  if (yes) {
    io.stderr(`${what.join('\n')}\n`);
    return null;
  }
  if (!io.confirm) {
    io.stderr(`${what.join('\n')}\ndb:migrate: not confirmed: add --yes to drop them (npm run db:migrate -- --down --yes)\n`);
    return 1;
  }
  io.stderr(`${what.join('\n')}\n`);
  if (!(await io.confirm('Type "drop" to drop them: '))) {
    io.stderr('db:migrate: not confirmed, nothing dropped\n');
    return 1;
  }
  return null;
}

async function runAction(database: DatabaseHandle, args: MigrateArgs, where: string, io: MigrateIo): Promise<number> {
  if (args.action === 'status') return printStatus(database, where, io);
  if (args.action === 'down') {
    const refused = await confirmDown(database, where, args.yes, io);
    if (refused !== null) return refused;
  }
  const results = args.action === 'down' ? await migrateAllDown(database) : await migrateToLatest(database);
  io.stdout(`storage mode: ${database.mode}\n`);
  if (!results.length) io.stdout('nothing to do: the schema is up to date\n');
  for (const r of results) io.stdout(`${r.direction.toLowerCase()} ${r.migrationName}: ${r.status}\n`);
  return 0;
}

export async function runMigrateCli(argv: readonly string[], io: MigrateIo): Promise<number> {
  const invocation = parseInvocation(argv, io);
  if ('exit' in invocation) return invocation.exit;
  const { args, config } = invocation;
  const embeddedDir = config.database.url ? undefined : path.resolve(config.dataDir);
  if (embeddedDir && args.action !== 'up' && !fs.existsSync(path.join(embeddedDir, 'PG_VERSION'))) {
    io.stderr(`db:migrate: no embedded database in DATA_DIR ${embeddedDir}: nothing to ${args.action === 'status' ? 'list' : 'undo'}\n`);
    return 1;
  }
  const database = await openForMigrate(config, io);
  if ('exit' in database) return database.exit;
  try {
    const where = embeddedDir ? `embedded database in ${embeddedDir}` : `${database.mode} database`;
    return await runAction(database, args, where, io);
  } catch (err) {
    io.stderr(`db:migrate: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

/** A terminal question; "drop" (exactly) confirms. */
export async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === 'drop';
  } finally {
    rl.close();
  }
}
