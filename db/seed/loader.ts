import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/db/database';
import { generateSeedBatches, resolveSeedOptions, type SeedOptions } from './generator';
import { dropSecondaryIndexes, rebuildIndexes, shouldDeferIndexes, type IndexDeferral, type SqlRunner } from './bulk-indexes';
import { CopySink, InsertSink, type RowSink } from './sinks';
import { buildReferenceData, type ReferenceData } from './world';

export interface SeedProgress {
  /** Trace rows handed to the database so far. */
  traces: number;
  scores: number;
  /** Trace rows the run will write in total. */
  total: number;
  elapsedMs: number;
}

export type SeedMethod = 'copy' | 'insert';

export interface SeedHooks {
  onProgress?: (progress: SeedProgress) => void;
  /** Defaults: COPY on a server, INSERT on the embedded database. */
  method?: SeedMethod;
  batchSize?: number;
  /**
   * Drop and rebuild trace indexes around the load (bulk-indexes.ts). Default: 'auto' (bulk
   * loads only), except on TimescaleDB servers, where it is not measured: false.
   */
  deferIndexes?: IndexDeferral;
}

export interface SeedResult {
  traces: number;
  scores: number;
  seconds: number;
  /** Trace rows per second over the whole run ("end to end"): loading, then indexes, commit and ANALYZE. */
  rowsPerSecond: number;
  /** Until the last row was written: the span (and the rate) the progress line reports. */
  loadSeconds: number;
  loadRowsPerSecond: number;
  method: SeedMethod;
}

/**
 * Embedded PGlite serves the wire protocol through pglite-socket, where COPY FROM STDIN
 * never completes (tried: the COPY statement hangs with no error), hence INSERTs there.
 */
/** maintenance_work_mem of the deferred index builds on the embedded database. */
export const EMBEDDED_INDEX_BUILD_MEMORY = '16MB';
/** default_statistics_target of the seed's ANALYZE on the embedded database. */
export const EMBEDDED_STATISTICS_TARGET = 25;

export function defaultSeedMethod(handle: Pick<DatabaseHandle, 'mode'>): SeedMethod {
  return handle.mode === 'embedded' ? 'insert' : 'copy';
}

/** Orgs, projects and prices; existing rows win, so reseeding never rewrites them. */
export async function upsertReferenceData(handle: DatabaseHandle, ref: ReferenceData): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto('orgs').values(ref.orgs).onConflict((oc) => oc.doNothing()).execute();
    await trx.insertInto('projects').values(ref.projects).onConflict((oc) => oc.doNothing()).execute();
    await trx.insertInto('model_prices').values(ref.modelPrices).onConflict((oc) => oc.doNothing()).execute();
  });
}

export async function seedDatabase(handle: DatabaseHandle, options: SeedOptions, hooks: SeedHooks = {}): Promise<SeedResult> {
  const started = performance.now();
  // Resolve once so that a default endAt cannot move between the reference rows and the traffic.
  const opts = resolveSeedOptions(options);
  const method = hooks.method ?? defaultSeedMethod(handle);
  const deferIndexes = hooks.deferIndexes ?? (handle.mode === 'timescale' ? false : 'auto');
  await upsertReferenceData(handle, buildReferenceData(opts));

  let traces = 0;
  let scores = 0;
  let loadMs = 0;
  const pump = async (sink: RowSink) => {
    // Small batches keep fewer rows alive across young-generation GCs: 1M rows took 28 s of
    // Node CPU with 2000-row batches and 21 s with 500.
    for (const batch of generateSeedBatches(opts, hooks.batchSize ?? 500)) {
      await sink.write(batch);
      traces += batch.traces.length;
      scores += batch.scores.length;
      loadMs = performance.now() - started;
      hooks.onProgress?.({ traces, scores, total: opts.traces, elapsedMs: loadMs });
      // Generation is synchronous; let socket reads (errors, acks) and timers run between batches.
      await yieldToEventLoop();
    }
  };

  if (method === 'copy') {
    const sink = await CopySink.open(handle.pool, { incomingTraces: opts.traces, deferTraceIndexes: deferIndexes });
    try {
      await pump(sink);
      await sink.finish();
    } catch (err) {
      await sink.abort();
      throw err;
    }
  } else {
    // One transaction: all or nothing, and the precondition for dropping indexes during the load.
    await handle.db.transaction().execute(async (trx) => {
      const run: SqlRunner = async (text) => (await sql.raw<Record<string, unknown>>(text).execute(trx)).rows;
      const defer = await shouldDeferIndexes(run, 'traces', opts.traces, deferIndexes);
      const deferred = defer ? await dropSecondaryIndexes(run, 'traces') : [];
      await pump(new InsertSink(trx));
      // Builds spill to temp files beyond this. On PGlite the sort memory stays in its
      // WebAssembly memory for good (it never shrinks): 64MB there cost ~33 MB resident for
      // the life of the process (README, Memory).
      await rebuildIndexes(run, deferred, handle.mode === 'embedded' ? EMBEDDED_INDEX_BUILD_MEMORY : '64MB');
    });
  }
  // Fresh statistics now rather than whenever autovacuum gets to it: the first analytics
  // queries after a seed would otherwise be planned against an "empty" table.
  if (handle.mode === 'embedded') {
    // ANALYZE keeps its sample rows (300 × the statistics target) in memory at once; on PGlite
    // that memory is its WebAssembly memory, which never shrinks: the default target (100,
    // 30,000 rows of traces) left ~27 MB behind, 25 leaves ~10 MB (README, Memory).
    await handle.db.transaction().execute(async (trx) => {
      await sql.raw(`SET LOCAL default_statistics_target = ${EMBEDDED_STATISTICS_TARGET}`).execute(trx);
      await sql`ANALYZE traces, scores`.execute(trx);
    });
  } else {
    await sql`ANALYZE traces, scores`.execute(handle.db);
  }
  const seconds = (performance.now() - started) / 1000;
  const loadSeconds = loadMs / 1000;
  return {
    traces,
    scores,
    seconds,
    rowsPerSecond: seconds > 0 ? traces / seconds : traces,
    loadSeconds,
    loadRowsPerSecond: loadSeconds > 0 ? traces / loadSeconds : traces,
    method,
  };
}
