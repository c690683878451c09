import type { Logger } from 'pino';
import type { IngestRow } from './ingest.repository';

/**
 * The write path of ingestion: requests hand their rows over and wait; one or more flush loops
 * take whole requests off the queue, as many as fit in `maxBatchRows`, and write each batch as
 * one statement. While a flush runs, new requests pile up and form the next batch, so batches
 * grow with load and an idle gateway writes each request at once (no timer, no linger).
 *
 * - A request's rows are never split across batches: one statement, all or nothing.
 * - Memory is bounded by `maxQueuedRows` and `maxQueuedBytes` (content dominates); a request
 *   that does not fit is refused at once (`WriterSaturated`: HTTP 429 with Retry-After), which
 *   is the exporter's cue to back off and retry.
 * - If a batch fails, its requests are retried one by one, so one request the database refuses
 *   fails alone and the others are written.
 */

export class WriterSaturated extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('ingestion queue is full');
  }
}
export class WriterStopped extends Error {
  constructor() {
    super('ingestion is shutting down');
  }
}

export interface SpanWriterOptions {
  readonly maxBatchRows: number;
  readonly maxQueuedRows: number;
  readonly maxQueuedBytes: number;
  /** Concurrent flushes (statements in flight). */
  readonly concurrency: number;
  readonly logger: Logger;
}

export interface WriteResult {
  /** Rows new to the table; the rest were already there (retries, duplicates). */
  readonly inserted: number;
}

interface Pending {
  readonly rows: readonly IngestRow[];
  readonly bytes: number;
  resolve(r: WriteResult): void;
  reject(err: unknown): void;
}

export type InsertRows = (rows: readonly IngestRow[]) => Promise<number>;

export const approxBytes = (r: IngestRow): number => 600 + (r.input?.length ?? 0) * 2 + (r.output?.length ?? 0) * 2;

function distinctById(rows: IngestRow[]): IngestRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.id) && (seen.add(r.id), true));
}

export class SpanWriter {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  /** Mean flush time, for the Retry-After hint. */
  private flushMsAvg = 50;
  readonly stats = { batches: 0, rows: 0, inserted: 0, refused: 0, maxBatchRows: 0 };

  constructor(
    private readonly insert: InsertRows,
    private readonly opts: SpanWriterOptions,
  ) {}

  /** Spans queued or being written. */
  queued(): { queuedRows: number } {
    return { queuedRows: this.queuedRows };
  }

  /** Queued plus in-flight work, 0..1 of the bound (readiness and metrics). */
  load(): number {
    return Math.max(this.queuedRows / this.opts.maxQueuedRows, this.queuedBytes / this.opts.maxQueuedBytes);
  }

  write(rows: readonly IngestRow[]): Promise<WriteResult> {
    if (this.stopped) return Promise.reject(new WriterStopped());
    if (!rows.length) return Promise.resolve({ inserted: 0 });
    let bytes = 0;
    for (const r of rows) bytes += approxBytes(r);
    // An empty queue takes any single request (the body limit bounds it); otherwise the bounds hold.
    if (this.queue.length > 0 && (this.queuedRows + rows.length > this.opts.maxQueuedRows || this.queuedBytes + bytes > this.opts.maxQueuedBytes)) {
      this.stats.refused += rows.length;
      const batchesAhead = Math.ceil(this.queuedRows / this.opts.maxBatchRows / this.opts.concurrency);
      return Promise.reject(new WriterSaturated(Math.max(1, Math.ceil((batchesAhead * this.flushMsAvg) / 1000))));
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ rows, bytes, resolve, reject });
      this.queuedRows += rows.length;
      this.queuedBytes += bytes;
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queue.length > 0) {
      const batch: Pending[] = [];
      let n = 0;
      while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0]!.rows.length <= this.opts.maxBatchRows)) {
        const p = this.queue.shift()!;
        batch.push(p);
        n += p.rows.length;
      }
      this.active++;
      void this.flush(batch, n).finally(() => {
        for (const p of batch) {
          this.queuedRows -= p.rows.length;
          this.queuedBytes -= p.bytes;
        }
        this.active--;
        if (this.queue.length) this.pump();
        else if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async flush(batch: Pending[], n: number): Promise<void> {
    const started = performance.now();
    // Requests are deduplicated on their own; merged, two of them may carry the same span
    // (an exporter retrying while its first try is queued): one row, the first.
    const rows = batch.length === 1 ? batch[0]!.rows : distinctById(batch.flatMap((p) => p.rows));
    try {
      const inserted = await this.insert(rows);
      this.record(batch.length, n, inserted, started);
      if (batch.length === 1) batch[0]!.resolve({ inserted });
      else {
        // Per-request counts are not known from one statement; each request learns only
        // that its rows are stored (duplicates included), which is what the exporter needs.
        for (const p of batch) p.resolve({ inserted: -1 });
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      this.opts.logger.warn({ err, requests: batch.length, rows: n }, 'ingest batch failed: retrying its requests one by one');
      for (const p of batch) {
        try {
          const inserted = await this.insert(p.rows);
          this.record(1, p.rows.length, inserted, performance.now());
          p.resolve({ inserted });
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }

  private record(requests: number, rows: number, inserted: number, started: number) {
    this.stats.batches++;
    this.stats.rows += rows;
    this.stats.inserted += inserted;
    this.stats.maxBatchRows = Math.max(this.stats.maxBatchRows, rows);
    this.flushMsAvg = this.flushMsAvg * 0.8 + (performance.now() - started) * 0.2;
    void requests;
  }

  /** Refuses new work and waits for what is queued and in flight to be written. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.active === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
