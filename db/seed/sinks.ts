import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema';
import { SCORE_COPY_COLUMNS, scoreCopyLine, TRACE_COPY_COLUMNS, traceCopyLine, usd } from './copy-format';
import type { SeedBatch } from './generator';

/** Where generated batches go: COPY streams on a server, multi-row INSERTs where COPY is unavailable. */
export interface RowSink {
  write(batch: SeedBatch): Promise<void>;
  /** Makes everything written visible. */
  finish(): Promise<void>;
  /** Best effort: undo what can be undone and free connections. */
  abort(): Promise<void>;
}

export interface CopySinkOptions {
  /** Trace rows this run will write; decides whether deferring index builds pays off. */
  incomingTraces: number;
  /**
   * Drop the non-constraint indexes of `traces` inside the load transaction and rebuild them
   * before commit: a sorted build of 12 indexes is several times cheaper than maintaining
   * them row by row. Takes an ACCESS EXCLUSIVE lock on `traces` until commit, and a failed
   * load rolls the drop back with everything else.
   */
  deferTraceIndexes: boolean;
  highWaterMark?: number;
}

/** Deferring pays off once the load is large and at least as big as what is already there. */
const BULK_LOAD_MIN_ROWS = 100_000;

async function isBulkLoad(client: pg.PoolClient, incoming: number): Promise<boolean> {
  if (incoming < BULK_LOAD_MIN_ROWS) return false;
  // Bounded count: stops reading as soon as the table is known to be larger than the load.
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM (SELECT 1 FROM traces LIMIT $1) t', [incoming + 1]);
  return Number(rows[0]?.n ?? 0) <= incoming;
}

async function dropSecondaryIndexes(client: pg.PoolClient, table: string): Promise<string[]> {
  // Constraint-backed indexes cannot be dropped on their own; they stay and are maintained.
  const { rows } = await client.query<{ name: string; def: string }>(
    `SELECT x.indexrelid::regclass::text AS name, pg_get_indexdef(x.indexrelid) AS def
       FROM pg_index x
      WHERE x.indrelid = $1::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
      ORDER BY 1`,
    [table],
  );
  for (const r of rows) await client.query(`DROP INDEX ${r.name}`);
  return rows.map((r) => r.def);
}

/**
 * One COPY per table, each on its own connection and inside its own transaction, so a
 * failed seed leaves no half-loaded table behind. Both streams are fed from the same batches.
 */
export class CopySink implements RowSink {
  private failure: Error | undefined;

  private constructor(
    private readonly clients: readonly [pg.PoolClient, pg.PoolClient],
    private readonly streams: readonly [Writable, Writable],
    /** CREATE INDEX statements to replay before commit (indexes dropped for the load). */
    private readonly deferredIndexes: readonly string[],
  ) {
    // Errors can arrive while no write is pending; remember them instead of crashing the process.
    for (const s of streams) s.on('error', (err: Error) => (this.failure ??= err));
  }

  static async open(pool: pg.Pool, opts: CopySinkOptions): Promise<CopySink> {
    const clients: pg.PoolClient[] = [];
    try {
      for (let i = 0; i < 2; i++) clients.push(await pool.connect());
      const [traceClient, scoreClient] = clients as [pg.PoolClient, pg.PoolClient];
      const streams = [] as Writable[];
      let deferredIndexes: string[] = [];
      for (const [client, table, cols] of [
        [traceClient, 'traces', TRACE_COPY_COLUMNS],
        [scoreClient, 'scores', SCORE_COPY_COLUMNS],
      ] as const) {
        await client.query('BEGIN');
        await client.query('SET LOCAL synchronous_commit = off');
        if (table === 'traces' && opts.deferTraceIndexes && (await isBulkLoad(client, opts.incomingTraces))) {
          deferredIndexes = await dropSecondaryIndexes(client, 'traces');
        }
        const copy = copyFrom(`COPY ${table} (${cols.join(', ')}) FROM STDIN`, { highWaterMark: opts.highWaterMark ?? 4 << 20 });
        streams.push(client.query(copy));
      }
      return new CopySink([traceClient, scoreClient], streams as [Writable, Writable], deferredIndexes);
    } catch (err) {
      for (const c of clients) c.release(true);
      throw err;
    }
  }

  async write(batch: SeedBatch): Promise<void> {
    const [traces, scores] = this.streams;
    const pending: Promise<unknown>[] = [];
    if (batch.traces.length && !traces.write(batch.traces.map(traceCopyLine).join(''))) pending.push(this.drained(traces));
    if (batch.scores.length && !scores.write(batch.scores.map(scoreCopyLine).join(''))) pending.push(this.drained(scores));
    await Promise.all(pending);
    if (this.failure) throw this.failure;
  }

  private async drained(stream: Writable): Promise<void> {
    if (this.failure) throw this.failure;
    // once() rejects on 'error', so a COPY that fails while we wait does not hang us.
    await once(stream, 'drain');
  }

  async finish(): Promise<void> {
    for (const s of this.streams) s.end();
    await Promise.all(this.streams.map((s) => finished(s)));
    if (this.failure) throw this.failure;
    if (this.deferredIndexes.length) {
      const traceClient = this.clients[0];
      // Sort-based builds want memory; SET LOCAL ends with the transaction.
      await traceClient.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      for (const def of this.deferredIndexes) await traceClient.query(def);
    }
    for (const c of this.clients) await c.query('COMMIT');
    for (const c of this.clients) c.release();
  }

  async abort(): Promise<void> {
    for (const s of this.streams) if (!s.destroyed) s.destroy();
    await Promise.all(this.streams.map((s) => finished(s).catch(() => undefined)));
    for (const c of this.clients) {
      await c.query('ROLLBACK').catch(() => undefined);
      // A connection that was mid-COPY is not trusted back into the pool.
      c.release(true);
    }
  }
}

/**
 * Multi-row INSERTs through Kysely, for the embedded database. 1000 trace rows x 28 columns
 * stays well under PostgreSQL's 65535 bind parameters per statement.
 */
export class InsertSink implements RowSink {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowsPerStatement = 1000,
  ) {}

  async write(batch: SeedBatch): Promise<void> {
    for (let i = 0; i < batch.traces.length; i += this.rowsPerStatement) {
      const rows = batch.traces.slice(i, i + this.rowsPerStatement).map((r) => ({
        ...r,
        prompt_cost_usd: usd(r.prompt_cost_usd),
        completion_cost_usd: usd(r.completion_cost_usd),
        total_cost_usd: usd(r.total_cost_usd),
        metadata: JSON.stringify(r.metadata),
      }));
      await this.db.insertInto('traces').values(rows).execute();
    }
    for (let i = 0; i < batch.scores.length; i += this.rowsPerStatement) {
      await this.db.insertInto('scores').values(batch.scores.slice(i, i + this.rowsPerStatement)).execute();
    }
  }

  async finish(): Promise<void> {}

  async abort(): Promise<void> {}
}

