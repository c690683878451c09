import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/db/database';
import { generateSeedBatches, resolveSeedOptions, type SeedOptions } from './generator';
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
  /** Rebuild trace indexes after a large COPY instead of maintaining them (see CopySinkOptions). */
  deferIndexes?: boolean;
}

export interface SeedResult {
  traces: number;
  scores: number;
  seconds: number;
  /** Trace rows per second over the whole run, reference rows and commit included. */
  rowsPerSecond: number;
  method: SeedMethod;
}

/**
 * Embedded PGlite serves the wire protocol through pglite-socket, whose COPY FROM STDIN
 * support is missing (the CopyIn sub-protocol is not relayed), hence INSERTs there.
 */
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
  await upsertReferenceData(handle, buildReferenceData(opts));

  const sink: RowSink =
    method === 'copy'
      ? await CopySink.open(handle.pool, {
          incomingTraces: opts.traces,
          // Only where it is measured: on plain PostgreSQL. Hypertables keep per-chunk indexes.
          deferTraceIndexes: hooks.deferIndexes ?? handle.mode === 'postgres',
        })
      : new InsertSink(handle.db);
  let traces = 0;
  let scores = 0;
  try {
    for (const batch of generateSeedBatches(opts, hooks.batchSize ?? 500)) {
      await sink.write(batch);
      traces += batch.traces.length;
      scores += batch.scores.length;
      hooks.onProgress?.({ traces, scores, total: opts.traces, elapsedMs: performance.now() - started });
      // Generation is synchronous; let socket reads (errors, acks) and timers run between batches.
      await yieldToEventLoop();
    }
    await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  // Fresh statistics now rather than whenever autovacuum gets to it: the first analytics
  // queries after a seed would otherwise be planned against an "empty" table.
  await sql`ANALYZE traces, scores`.execute(handle.db);
  const seconds = (performance.now() - started) / 1000;
  return { traces, scores, seconds, rowsPerSecond: seconds > 0 ? traces / seconds : traces, method };
}
