import { Kysely, PostgresDialect, sql, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Config } from '../config';
import type { Database } from './schema';
import { startEmbeddedDatabase, type EmbeddedDatabase, type EmbeddedMemory } from './embedded/embedded-database';
import { LivenessProbe, poolSaturation, type PoolSaturation } from './liveness';
import { runReadBatch, type PreparedStatements } from './read-batch';
import { ALL_ROLLUPS } from './rollup-refresh';

export type StorageMode = 'embedded' | 'timescale' | 'postgres';
export type QueryClass = 'simple' | 'aggregate';

/** Receives every statement Kysely runs: metrics, the slow-query log and tests subscribe here. */
export type QueryListener = (event: LogEvent) => void;
export type PoolRole = 'primary' | 'replica';
/** A connection could not be had (acquire timeout, refused connect): Kysely never logs these. */
export type PoolErrorListener = (error: unknown, pool: PoolRole) => void;

export interface DatabaseHandle {
  /** Primary: writes and anything that must read its own writes. */
  readonly db: Kysely<Database>;
  /** Replica when DATABASE_READONLY_URL is set, otherwise the primary. */
  readonly readDb: Kysely<Database>;
  readonly pool: pg.Pool;
  readonly readPool: pg.Pool;
  readonly mode: StorageMode;
  /** TimescaleDB features are in use (embedded and timescale modes). */
  readonly timescale: boolean;
  readonly statementTimeoutMs: Readonly<Record<QueryClass, number>>;
  /**
   * Server modes with DB_READ_BATCH on: runs a read's statements on the read pool in pipelined
   * batches under the settings `preamble` sets (withStatementTimeout uses it; src/db/read-batch.ts).
   * Absent in embedded mode and with DB_READ_BATCH=false (a transaction per read, as before).
   */
  readonly readBatch?: <T>(preamble: string, fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;
  /** Embedded mode: what the database worker holds (null in server modes). */
  embeddedMemory(): Promise<EmbeddedMemory | null>;
  addQueryListener(listener: QueryListener): () => void;
  addPoolErrorListener(listener: PoolErrorListener): () => void;
  /**
   * Readiness: does the server answer? Server modes ask on a connection of their own, so a
   * saturated request pool is never mistaken for a dead database; the embedded database (one
   * in-process connection) is asked through its pool.
   */
  ping(role: PoolRole): Promise<void>;
  /** How busy a request pool is right now (readiness details, metrics). */
  saturation(role: PoolRole): PoolSaturation;
  close(): Promise<void>;
}

// numeric and bigint stay strings (exact); timestamps become Dates. int8 counts fit doubles here.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export interface OpenDatabaseOptions {
  /** Embedded only: keep the database in memory instead of DATA_DIR (tests). */
  inMemory?: boolean;
  /** Embedded only: who takes the DATA_DIR lock (shown to a second process refused by it). */
  holder?: string;
  /** Told about a change of course worth an operator's attention (prepared statements turned off). */
  logger?: { warn(obj: object, msg: string): void };
}

/** A statement that reads a rollup: worth preparing (see read-batch.ts); raw-only ones stay unnamed. */
const READS_ROLLUP = new RegExp(`\\b(?:${ALL_ROLLUPS.map((r) => r.name).join('|')})\\b`);
export const readsRollup = (text: string) => READS_ROLLUP.test(text);

interface Pools {
  readonly primary: pg.Pool;
  readonly read: pg.Pool;
  readonly embedded?: EmbeddedDatabase;
}

/** The embedded database's one-socket pool, or the server's primary (and replica) pools. */
async function openPools(config: Config, options: OpenDatabaseOptions): Promise<Pools> {
  if (!config.database.url) {
    const embedded = await startEmbeddedDatabase(options.inMemory ? undefined : config.dataDir, options.holder, config.database.embedded);
    // PGlite is single-connection: one socket, and the pool queues statements client-side.
    const primary = new pg.Pool({ host: '127.0.0.1', port: embedded.port, user: 'postgres', database: 'postgres', max: 1, idleTimeoutMillis: 0, connectionTimeoutMillis: 0 });
    return { primary, read: primary, embedded };
  }
  const poolCfg = config.database.pool;
  const make = (url: string) =>
    new pg.Pool({
      connectionString: url,
      max: poolCfg.max,
      min: poolCfg.min,
      connectionTimeoutMillis: poolCfg.acquireTimeoutMs,
      idleTimeoutMillis: poolCfg.idleTimeoutMs,
      maxLifetimeSeconds: poolCfg.maxLifetimeSeconds,
      application_name: 'analytics-gateway',
    });
  const primary = make(config.database.url);
  return { primary, read: config.database.readonlyUrl ? make(config.database.readonlyUrl) : primary };
}

/**
 * An idle client that errors (server restart) must not crash the process; pg reconnects.
 * pg-pool listens only on idle clients: a connection that dies while checked out emits 'error'
 * on its client (after failing the running query), which would otherwise be an unhandled
 * 'error' event and take the process down. The pool drops such clients on release.
 */
function survive(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
}

/** Liveness probes on their own connections (server modes; embedded answers `SELECT 1`). */
function livenessProbes(config: Config) {
  const probes: Partial<Record<PoolRole, LivenessProbe>> = {};
  const timeoutMs = config.telemetry.healthCheckTimeoutMs;
  if (config.database.url) {
    probes.primary = new LivenessProbe(config.database.url, timeoutMs);
    if (config.database.readonlyUrl) probes.replica = new LivenessProbe(config.database.readonlyUrl, timeoutMs);
  }
  const close = () => Promise.all(Object.values(probes).map((p) => p.close().catch(() => undefined)));
  return { probes, close };
}

/** The pool as Kysely sees it: acquire failures reach the pool-error listeners (metrics, logs). */
function watchedPool(pool: pg.Pool, role: PoolRole, listeners: ReadonlySet<PoolErrorListener>) {
  return {
    connect: () =>
      pool.connect().then(realmSafeQueries, (err: unknown) => {
        for (const l of listeners) l(err, role);
        throw asError(err);
      }),
    end: () => pool.end(),
  };
}

export async function openDatabase(config: Config, options: OpenDatabaseOptions = {}): Promise<DatabaseHandle> {
  const listeners = new Set<QueryListener>();
  const log = (event: LogEvent) => {
    for (const l of listeners) l(event);
  };
  const { primary: primaryPool, read: readPool, embedded } = await openPools(config, options);
  survive(primaryPool);
  if (readPool !== primaryPool) survive(readPool);

  const poolErrorListeners = new Set<PoolErrorListener>();
  const watched = (pool: pg.Pool, role: PoolRole) => watchedPool(pool, role, poolErrorListeners);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: watched(primaryPool, 'primary') }), log });
  const readDb = readPool === primaryPool ? db : new Kysely<Database>({ dialect: new PostgresDialect({ pool: watched(readPool, 'replica') }), log });
  const liveness = livenessProbes(config);

  let mode: StorageMode;
  try {
    mode = embedded ? 'embedded' : await detectServerMode(db, config.database.mode);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    if (readDb !== db) await readDb.destroy().catch(() => undefined);
    await liveness.close();
    throw err;
  }

  const readRole: PoolRole = readPool === primaryPool ? 'primary' : 'replica';
  const prepared: PreparedStatements = {
    max: config.database.preparedStatementsMax,
    planCacheMode: config.database.preparedPlanCacheMode,
    preparable: readsRollup,
    onDisabled: (err) =>
      options.logger?.warn(
        { err: { code: (err as { code?: unknown }).code, message: (err as Error).message }, pool: readRole },
        'prepared statements turned off for this pool: the server does not keep what a connection prepared (a pooler in transaction mode? set DB_PREPARED_STATEMENTS_MAX=0)',
      ),
  };
  const readBatchDeps = { pool: watched(readPool, readRole), log, db: readDb, normalizeError: asError, prepared };
  return {
    db,
    readDb,
    ...(mode !== 'embedded' && config.database.readBatch
      ? { readBatch: <T>(preamble: string, fn: (d: Kysely<Database>) => Promise<T>) => runReadBatch(readBatchDeps, preamble, fn) }
      : {}),
    pool: primaryPool,
    readPool,
    mode,
    timescale: mode !== 'postgres',
    statementTimeoutMs: config.database.statementTimeoutMs,
    embeddedMemory: () => (embedded ? embedded.memory() : Promise.resolve(null)),
    addQueryListener(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    addPoolErrorListener(listener) {
      poolErrorListeners.add(listener);
      return () => poolErrorListeners.delete(listener);
    },
    async ping(role) {
      const probe = liveness.probes[role];
      if (probe) return probe.check();
      await sql`SELECT 1`.execute(role === 'replica' ? readDb : db);
    },
    saturation: (role) => poolSaturation(role === 'replica' ? readPool : primaryPool),
    async close() {
      await liveness.close();
      await db.destroy();
      if (readDb !== db) await readDb.destroy();
      if (embedded) await embedded.close();
    },
  };
}

/**
 * Socket errors are created by Node's core; inside a VM sandbox (Jest) they fail `instanceof
 * Error`, and graphql-js then replaces them with "Unexpected error value", losing the code that
 * maps them to SERVICE_UNAVAILABLE. Same message and code, as an Error of this realm.
 */
function asError(err: unknown): unknown {
  if (err instanceof Error || typeof err !== 'object' || err === null) return err;
  const e = err as { message?: unknown };
  return Object.assign(new Error(typeof e.message === 'string' ? e.message : String(err)), err);
}

const REALM_SAFE = Symbol('realmSafeQueries');

/** The same for statements: a socket error (read ECONNRESET, write EPIPE) rejects a running query. */
function realmSafeQueries(client: pg.PoolClient): pg.PoolClient {
  const c = client as pg.PoolClient & { [REALM_SAFE]?: true };
  if (c[REALM_SAFE]) return client;
  c[REALM_SAFE] = true;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(asError(err))) : result;
  };
  return client;
}

async function detectServerMode(db: Kysely<Database>, wanted: Config['database']['mode']): Promise<StorageMode> {
  if (wanted === 'postgres') return 'postgres';
  const { rows } = await sql<{ installed: boolean; available: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,
           EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available`.execute(db);
  const has = Boolean(rows[0]?.installed || rows[0]?.available);
  if (wanted === 'timescale' && !has) {
    throw new Error('DATABASE_MODE: timescale was asked for, but the server at DATABASE_URL has no timescaledb extension');
  }
  return has ? 'timescale' : 'postgres';
}

/**
 * Settings of a class's transactions besides the timeout. Aggregations read each slice of their
 * range (raw edges, minute, hour and day rollups) as one branch of a UNION ALL; PostgreSQL
 * would run such a statement as a Parallel Append as soon as the branches add up past
 * `parallel_setup_cost`, and starting two workers costs more than the branches themselves
 * (a 7-day cost question on 300k traces: 13 ms without, 100 ms with, on two cores). A branch
 * big enough for workers still gets its own Gather.
 */
const CLASS_SETTINGS: Record<QueryClass, readonly (readonly [name: string, value: string])[]> = {
  simple: [],
  aggregate: [['enable_parallel_append', 'off']],
};

/** A class's statement timeout and settings, the timeout first (validated: it is put into SQL text). */
function classSettings(handle: Pick<DatabaseHandle, 'statementTimeoutMs'>, queryClass: QueryClass): (readonly [string, string])[] {
  const ms = handle.statementTimeoutMs[queryClass];
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`statement timeout of ${queryClass} is not a whole number of ms: ${ms}`);
  return [['statement_timeout', String(ms)], ...CLASS_SETTINGS[queryClass]];
}

/**
 * Runs `fn` in a transaction whose statement timeout is the one of its class. SET LOCAL dies
 * with the transaction, so this is safe behind PgBouncer in transaction mode. BEGIN and SET
 * LOCAL go to the server as one simple-protocol message (no parameters: the timeout is a
 * validated integer), one round trip instead of two for every timed read.
 */
export async function withStatementTimeout<T>(
  handle: Pick<DatabaseHandle, 'statementTimeoutMs'>,
  db: Kysely<Database>,
  queryClass: QueryClass,
  fn: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  const begin = `BEGIN; ${classSettings(handle, queryClass).map(([name, value]) => `SET LOCAL ${name} = ${value}`).join('; ')}`;
  return db.connection().execute(async (conn) => {
    let result: T;
    try {
      await sql.raw(begin).execute(conn);
      result = await fn(conn);
    } catch (error) {
      // When the connection died, ROLLBACK fails too ("Client has encountered a connection
      // error and is not queryable"); the first failure is the one that says what happened,
      // and the pool drops a client that is not queryable when it comes back.
      await sql.raw('ROLLBACK').execute(conn).catch(() => undefined);
      throw error;
    }
    await sql.raw('COMMIT').execute(conn);
    return result;
  });
}

/**
 * A read on the read handle under the statement timeout (and settings) of its class: what
 * services use. In server modes its statements go out in pipelined batches, the settings with
 * them, one round trip for the statements it starts side by side (src/db/read-batch.ts); in
 * embedded mode, or with DB_READ_BATCH=false, a transaction as withStatementTimeout runs it.
 * Reads only: a batch is not one transaction (each round trip commits on its own).
 */
export async function withTimedRead<T>(
  handle: Pick<DatabaseHandle, 'statementTimeoutMs' | 'readDb' | 'readBatch'>,
  queryClass: QueryClass,
  fn: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (!handle.readBatch) return withStatementTimeout(handle, handle.readDb, queryClass, fn);
  const settings = classSettings(handle, queryClass).map(([name, value]) => `set_config('${name}', '${value}', true)`);
  return handle.readBatch(`SELECT ${settings.join(', ')} /* readSettings */`, fn);
}
