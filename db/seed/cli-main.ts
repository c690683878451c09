import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { sql } from 'kysely';
import { redactUrl } from '../../src/shared/redact-url';
import { migrateAllDown, migrateToLatest } from '../../src/db/migrator';
import { seedDatabase, type SeedProgress } from './loader';
import type { SeedOptions } from './generator';

/**
 * `npm run seed -- --traces N --days D --orgs K --seed S [--database-url URL]`.
 * The rollup refresh is injected by cli.ts so that this module can be tested on its own.
 */

export const USAGE = `Usage: npm run seed -- [--traces N] [--days D] [--orgs K] [--seed S] [--database-url URL] [--append | --reset]

  --traces N         trace rows (spans) to generate            (default 100000)
  --days D           spread them over the last D days          (default 30)
  --orgs K           number of organisations                   (default 3)
  --seed S           random seed; same seed, same rows         (default 42)
  --database-url URL PostgreSQL/TimescaleDB to seed (overrides DATABASE_URL);
                     without either, the embedded database in DATA_DIR is seeded
  --append           add the rows to a database that already holds traces
  --reset            drop all data first (every table, API keys included) and seed from scratch
A database that already holds traces is refused unless --append or --reset is given.
The progress line's rows/s is the loading rate (rows written so far / time so far); the summary
gives it again with the time indexes and ANALYZE took after it, and the end-to-end rate.`;

export class UsageError extends Error {}

export interface SeedCliArgs extends Required<Omit<SeedOptions, 'endAt'>> {
  databaseUrl?: string;
  /** What to do with traces already there (default: refuse). */
  existing: 'refuse' | 'append' | 'reset';
}

function integerArg(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

export function parseSeedArgs(argv: string[]): SeedCliArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        traces: { type: 'string' },
        days: { type: 'string' },
        orgs: { type: 'string' },
        seed: { type: 'string' },
        'database-url': { type: 'string' },
        append: { type: 'boolean' },
        reset: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.append && v.reset) throw new UsageError('--append and --reset exclude each other');
  return {
    traces: integerArg('traces', v.traces, 100_000, 1),
    days: integerArg('days', v.days, 30, 1),
    orgs: integerArg('orgs', v.orgs, 3, 1),
    // 0 is a perfectly good seed.
    seed: integerArg('seed', v.seed, 42, 0),
    databaseUrl: v['database-url'],
    existing: v.append ? 'append' : v.reset ? 'reset' : 'refuse',
  };
}

export interface ProgressWriter {
  update(p: SeedProgress): void;
  done(): void;
}

/** A redrawn \r line on a terminal; on a pipe or log file, one line per 10% instead. */
export function progressWriter(out: NodeJS.WriteStream): ProgressWriter {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  let nextDecile = 1;
  let lastDraw = 0;
  let drewLine = false;
  return {
    update(p) {
      const fraction = p.total > 0 ? p.traces / p.total : 1;
      const rate = p.elapsedMs > 0 ? (p.traces * 1000) / p.elapsedMs : 0;
      const text = `${(fraction * 100).toFixed(1).padStart(5)}%  ${fmt(p.traces)}/${fmt(p.total)} traces  ${fmt(rate)} rows/s loading`;
      if (out.isTTY) {
        // Redrawing every batch would cost more than it shows.
        if (p.elapsedMs - lastDraw < 100 && fraction < 1) return;
        lastDraw = p.elapsedMs;
        const width = 30;
        const filled = Math.round(fraction * width);
        out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
        drewLine = true;
      } else {
        const decile = Math.floor(fraction * 10);
        if (decile >= nextDecile) {
          out.write(`${text}\n`);
          nextDecile = decile + 1;
        }
      }
    },
    done() {
      if (drewLine) out.write('\n');
    },
  };
}

export interface SeedCliDeps {
  refreshRollups: (handle: DatabaseHandle) => Promise<unknown>;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

/** Returns the process exit code: 0 done, 1 failed, 2 bad arguments or configuration. */
export async function runSeedCli(argv: string[], deps: SeedCliDeps): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  let args: SeedCliArgs | 'help';
  let config;
  try {
    args = parseSeedArgs(argv);
    if (args === 'help') {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    const env = { ...(deps.env ?? process.env) };
    if (args.databaseUrl !== undefined) env.DATABASE_URL = args.databaseUrl;
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      stderr.write(`seed: ${err.message}\n${err instanceof UsageError ? `\n${USAGE}\n` : ''}`);
      return 2;
    }
    throw err;
  }

  let handle: DatabaseHandle;
  try {
    handle = await openDatabase(config);
  } catch (err) {
    stderr.write(`seed: cannot open the database: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  try {
    await migrateToLatest(handle);
    const existing = await countTraces(handle);
    if (existing > 0 && args.existing === 'refuse') {
      stderr.write(
        `seed: the database already holds ${existing.toLocaleString('en-US')} traces: nothing written. ` +
          `--append adds ${args.traces.toLocaleString('en-US')} more; --reset drops all data (API keys too) and seeds from scratch.\n`,
      );
      return 1;
    }
    if (existing > 0 && args.existing === 'reset') {
      await migrateAllDown(handle);
      await migrateToLatest(handle);
      stderr.write(`Reset: dropped ${existing.toLocaleString('en-US')} traces and every other row (tables re-created)\n`);
    }
    const target = config.database.url ? `${handle.mode} database ${redactUrl(config.database.url)}` : `embedded database in ${config.dataDir}`;
    stderr.write(`Seeding ${args.traces.toLocaleString('en-US')} traces over ${args.days} days for ${args.orgs} orgs (seed ${args.seed}) into ${target}\n`);
    const progress = progressWriter(stderr);
    const result = await seedDatabase(handle, args, { onProgress: (p) => progress.update(p) });
    progress.done();
    const refreshStarted = performance.now();
    await deps.refreshRollups(handle);
    const refreshSeconds = (performance.now() - refreshStarted) / 1000;
    const rate = (n: number) => Math.round(n).toLocaleString('en-US');
    stdout.write(
      `Seeded ${result.traces.toLocaleString('en-US')} traces and ${result.scores.toLocaleString('en-US')} scores ` +
        `in ${result.seconds.toFixed(1)} s (${rate(result.rowsPerSecond)} rows/s end to end, ${result.method}): ` +
        `loading ${result.loadSeconds.toFixed(1)} s at ${rate(result.loadRowsPerSecond)} rows/s (the progress rate), ` +
        `then indexes and ANALYZE ${(result.seconds - result.loadSeconds).toFixed(1)} s; ` +
        `rollups refreshed in ${refreshSeconds.toFixed(1)} s\n`,
    );
    return 0;
  } catch (err) {
    stderr.write(`\nseed failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await handle.close();
  }
}

async function countTraces(handle: DatabaseHandle): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM traces`.execute(handle.db);
  return Number(rows[0]?.n ?? 0);
}

