import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PassThrough, type Writable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../../db/schema';
import type { ExportConfig } from '../../config';
import type { TraceFilter } from '../../query/trace-filter';
import type { Scope } from '../../auth/viewer';
import { fromDatabaseError } from '../../shared/errors';
import { exportDurationSeconds, exportJobsTotal, exportRowsTotal } from '../../telemetry/metrics';
import { readExportBatch, type KeysetPosition } from './export-reader';
import { copyChunksInOrder } from './export-copy';
import { createBatchWriter, type BatchWriter, type ExportFormat } from './export-writers';
import type { ExportStorage, ExportUpload } from './export-storage';
import { claimExportJob, completeExportJob, failExportAttempt, reportExportProgress, type ExportJobRow, type ExportLease } from './exports.repository';
import { downloadPath } from './download-token';

export interface RunnerDeps {
  readonly db: Kysely<Database>;
  readonly storage: ExportStorage;
  readonly config: ExportConfig;
  readonly logger: Logger;
  readonly metrics: boolean;
  /**
   * Server modes: the pool CSV and JSONL are streamed from with COPY … TO STDOUT (one dedicated
   * client per chunk). Absent in embedded mode (PGlite's socket has no COPY TO streaming): those
   * read keyset batches of rendered lines instead.
   */
  readonly copyPool?: pg.Pool;
}

/** The attempt stopped for a reason that is not the export's fault: shutdown, deadline, lease lost. */
export class AttemptStopped extends Error {}

export const FILE_EXTENSION: Record<ExportFormat, string> = { CSV: 'csv', JSONL: 'jsonl', PARQUET: 'parquet' };

export function fileNameOf(job: Pick<ExportJobRow, 'id' | 'format' | 'compression'>): string {
  return `traces-${job.id}.${FILE_EXTENSION[job.format as ExportFormat]}${job.compression === 'GZIP' ? '.gz' : ''}`;
}

/** Storage keys are per org and per attempt: two attempts never write the same object. */
export const keyPrefixOf = (orgId: string, exportId: string) => `${safeSegment(orgId)}/${exportId}`;
const safeSegment = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, (c) => `~${c.charCodeAt(0).toString(16)}`);

/** The filter stored with the job, with the window it was fixed to at creation. */
export function snapshotFilter(job: ExportJobRow): TraceFilter {
  const stored = (job.filter ?? {}) as TraceFilter;
  return { ...stored, from: job.window_from ?? undefined, to: job.window_to ?? undefined };
}

interface ExportSource {
  scope: Scope;
  filter: TraceFilter;
  format: ExportFormat;
  columns: readonly string[];
}

interface ChunkHooks {
  beforeChunk: () => void;
  afterChunk: (rows: number) => Promise<void>;
}

/** Server modes, CSV and JSONL: COPY chunks of planned ranges, EXPORT_COPY_PARALLEL at once. */
function streamCopy(deps: RunnerDeps, pool: pg.Pool, source: ExportSource & { format: 'CSV' | 'JSONL' }, sink: Writable, hooks: ChunkHooks) {
  const c = deps.config;
  const q = { ...source, chunkRows: c.copyBatchRows, parallel: c.copyParallel, maxBuffered: COPY_BUFFER_BYTES, timeoutMs: c.batchTimeoutMs };
  return copyChunksInOrder(pool, deps.db, q, sink, hooks);
}

/** A chunk that is not due yet holds at most this much in memory (then its COPY waits). */
const COPY_BUFFER_BYTES = 32 << 20;

/** Parquet, and every format in embedded mode: keyset batches read under the statement timeout. */
async function streamBatches(deps: RunnerDeps, source: ExportSource, writer: BatchWriter, hooks: ChunkHooks): Promise<void> {
  let after: KeysetPosition | null = null;
  const limit = source.format === 'PARQUET' ? deps.config.parquetBatchRows : deps.config.batchRows;
  for (;;) {
    hooks.beforeChunk();
    const read = await deps.db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('statement_timeout', ${String(deps.config.batchTimeoutMs)}, true)`.execute(trx);
      return readExportBatch(trx, { ...source, limit, after });
    });
    await writer.write(read.batch);
    await hooks.afterChunk(read.count);
    if (read.count < limit || !read.last) return;
    after = read.last;
  }
}

/** What a user may read of an error: a coded database condition, or a generic line (details are logged). */
function publicMessage(err: unknown): string {
  if (err instanceof AttemptStopped) return err.message;
  const coded = fromDatabaseError(err);
  if (coded) return coded.message;
  return 'the export failed with an internal error (see the gateway log)';
}

/** Heartbeat between batches too: a slow upload must not look like a dead worker. */
function startHeartbeat(deps: RunnerDeps, lease: ExportLease): { lost: () => boolean; stop: () => void } {
  let lost = false;
  const timer = setInterval(() => {
    reportExportProgress(deps.db, lease).then(
      (held) => {
        if (!held) lost = true;
      },
      () => undefined,
    );
  }, Math.max(500, Math.floor(deps.config.stallTimeoutMs / 4)));
  timer.unref();
  return { lost: () => lost, stop: () => clearInterval(timer) };
}

/** Every row of the job's snapshot into `sink`, in its format; progress reported per chunk. */
async function writeRows(deps: RunnerDeps, row: ExportJobRow, lease: ExportLease, sink: Writable, stopIfNeeded: () => void): Promise<number> {
  const format = row.format as ExportFormat;
  const writer = createBatchWriter(format, row.columns, sink);
  const source = { scope: { orgId: row.org_id, projectIds: row.scope_project_ids }, filter: snapshotFilter(row), format, columns: row.columns };
  let written = 0;
  const hooks: ChunkHooks = {
    beforeChunk: stopIfNeeded,
    afterChunk: async (count) => {
      written += count;
      if (deps.metrics) exportRowsTotal.inc(count);
      if (!(await reportExportProgress(deps.db, lease, written))) throw new AttemptStopped('this attempt no longer holds the export');
    },
  };
  const copyPool = format === 'PARQUET' ? undefined : deps.copyPool;
  if (copyPool) {
    // The CSV header goes first (the COPY chunks are only rows).
    await writer.write({ kind: 'lines', lines: [] });
    await streamCopy(deps, copyPool, source as ExportSource & { format: 'CSV' | 'JSONL' }, sink, hooks);
  } else {
    await streamBatches(deps, source, writer, hooks);
  }
  await writer.finish();
  return written;
}

/**
 * One attempt of one export: claim the job for this pg-boss job, stream every batch into a new
 * upload, publish it if (and only if) this attempt still holds the job. Throws to have pg-boss
 * retry it; returns when there is nothing more to do.
 */
export async function runExportAttempt(
  deps: RunnerDeps,
  job: { exportId: string; bossJobId: string; retryCount: number; retryLimit: number },
  signal: AbortSignal,
): Promise<void> {
  const row = await claimExportJob(deps.db, job.exportId, job.bossJobId);
  if (!row) return; // cancelled, restarted under another pg-boss job, or finished
  const lease: ExportLease = { id: row.id, bossJobId: job.bossJobId, attempt: row.attempts };
  const log = deps.logger.child({ exportId: row.id, attempt: row.attempts, format: row.format });
  const started = performance.now();
  const format = row.format as ExportFormat;
  const prefix = keyPrefixOf(row.org_id, row.id);
  const key = `${prefix}-${row.attempts}.${FILE_EXTENSION[format]}${row.compression === 'GZIP' ? '.gz' : ''}`;
  let upload: ExportUpload | undefined;
  const heartbeat = startHeartbeat(deps, lease);
  const stopIfNeeded = () => {
    if (signal.aborted) throw new AttemptStopped(String(signal.reason ?? 'stopped'));
    if (heartbeat.lost()) throw new AttemptStopped('this attempt no longer holds the export');
  };
  try {
    // Leftovers of earlier attempts (a killed gateway's partial upload) go first.
    await deps.storage.removePrefix(`${prefix}-`);
    upload = await deps.storage.createUpload(key);
    const sink = row.compression === 'GZIP' ? createGzip({ level: 6 }) : new PassThrough();
    const piping = pipeline(sink, upload.stream, { end: false });
    piping.catch(() => undefined);
    const written = await writeRows(deps, row, lease, sink, stopIfNeeded);
    sink.end();
    await piping;
    const { bytes } = await upload.commit();
    const published = await completeExportJob(deps.db, lease, { rows: written, bytes, fileKey: key, location: downloadPath(row.id), ttlMs: deps.config.ttlMs });
    if (!published) {
      // Cancelled (or restarted elsewhere) while the last bytes went up: the file must not stay.
      await deps.storage.remove(key).catch(() => undefined);
      log.info('export finished after it was cancelled or taken over: file removed');
      return;
    }
    if (deps.metrics) {
      exportJobsTotal.inc({ status: 'succeeded' });
      exportDurationSeconds.observe({ format, outcome: 'succeeded' }, (performance.now() - started) / 1000);
    }
    log.info({ rows: written, bytes, ms: Math.round(performance.now() - started) }, 'export succeeded');
  } catch (err) {
    await upload?.abort().catch(() => undefined);
    await recordFailure(deps, { job, lease, log, format, started }, err);
  } finally {
    heartbeat.stop();
  }
}

/** A failed attempt: recorded on the job if this attempt still holds it, then rethrown for pg-boss. */
async function recordFailure(
  deps: RunnerDeps,
  a: { job: { retryCount: number; retryLimit: number }; lease: ExportLease; log: Logger; format: ExportFormat; started: number },
  err: unknown,
): Promise<void> {
  const final = a.job.retryCount >= a.job.retryLimit;
  const held = await failExportAttempt(deps.db, a.lease, publicMessage(err), final).catch(() => false);
  if (deps.metrics) exportDurationSeconds.observe({ format: a.format, outcome: 'failed' }, (performance.now() - a.started) / 1000);
  if (!held) {
    a.log.info({ reason: (err as Error).message }, 'export attempt stopped: it no longer holds the job');
    return;
  }
  if (deps.metrics) exportJobsTotal.inc({ status: final ? 'failed' : 'retried' });
  a.log.warn({ err, final }, final ? 'export failed after its last attempt' : 'export attempt failed: it will be retried');
  throw err;
}
