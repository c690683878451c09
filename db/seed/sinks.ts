import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/schema';
import { SCORE_COPY_COLUMNS, scoreCopyLine, TRACE_COPY_COLUMNS, traceCopyLine } from './copy-format';
import { dropSecondaryIndexes, rebuildIndexes, shouldDeferIndexes, type IndexDeferral, type SqlRunner } from './bulk-indexes';
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
  /** Drop and rebuild the indexes of `traces` around the load (see bulk-indexes.ts). */
  deferTraceIndexes: IndexDeferral;
  highWaterMark?: number;
}

/**
 * One COPY per table, each on its own connection and inside its own transaction, so a
 * failed seed leaves no half-loaded table behind. Both streams are fed from the same batches.
 */
export class CopySink implements RowSink {
  private failure: Error | undefined;
  /** Streams whose COPY the server already ended with an error: never write to or wait on them. */
  private readonly failed = new Set<Writable>();

  private constructor(
    private readonly clients: readonly [pg.PoolClient, pg.PoolClient],
    private readonly streams: readonly [Writable, Writable],
    /** CREATE INDEX statements to replay before commit (indexes dropped for the load). */
    private readonly deferredIndexes: readonly string[],
  ) {
    // Errors can arrive while no write is pending; remember them instead of crashing the process.
    for (const stream of streams) {
      stream.on('error', (err: Error) => {
        this.failed.add(stream);
        this.failure ??= err;
      });
    }
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
        const run: SqlRunner = async (text) => (await client.query(text)).rows;
        if (table === 'traces' && (await shouldDeferIndexes(run, table, opts.incomingTraces, opts.deferTraceIndexes))) {
          deferredIndexes = await dropSecondaryIndexes(run, table);
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

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  async write(batch: SeedBatch): Promise<void> {
    this.throwIfFailed();
    const [traces, scores] = this.streams;
    const pending: Promise<unknown>[] = [];
    try {
      if (batch.traces.length && !traces.write(batch.traces.map(traceCopyLine).join(''))) pending.push(once(traces, 'drain'));
      if (batch.scores.length && !scores.write(batch.scores.map(scoreCopyLine).join(''))) pending.push(once(scores, 'drain'));
      // once() rejects on 'error', so a COPY that fails while we wait does not hang us.
      await Promise.all(pending);
    } catch (err) {
      // A write racing a server-side failure throws something less useful than the server's error.
      throw this.failure ?? err;
    }
    this.throwIfFailed();
  }

  async finish(): Promise<void> {
    this.throwIfFailed();
    for (const s of this.streams) s.end();
    // Resolves once the server has acknowledged the end of each COPY.
    await Promise.all(this.streams.map((s) => finished(s)));
    this.throwIfFailed();
    const traceClient = this.clients[0];
    await rebuildIndexes(async (text) => (await traceClient.query(text)).rows, this.deferredIndexes, '256MB');
    for (const c of this.clients) await c.query('COMMIT');
    for (const c of this.clients) c.release();
  }

  async abort(): Promise<void> {
    const live = this.streams.filter((s) => !this.failed.has(s) && !s.destroyed);
    // destroy() makes pg-copy-streams send CopyFail, which ends the COPY on the server.
    for (const s of live) s.destroy();
    await withTimeout(Promise.all(live.map((s) => finished(s).catch(() => undefined))), 5000);
    for (const c of this.clients) {
      await withTimeout(c.query('ROLLBACK').catch(() => undefined), 5000);
      // Never hand a connection that was mid-COPY back to the pool; the server rolls back on disconnect anyway.
      c.release(true);
    }
  }
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Multi-row INSERTs through Kysely, for the embedded database (COPY FROM STDIN hangs behind
 * its socket server); the caller owns the transaction. Rows travel as JSON expanded by
 * json_populate_recordset, 1.65x faster on PGlite than 28 bind parameters per row. The JSON
 * is inlined as a literal so that each statement is one simple-protocol message: sent as a
 * ~700 KB bind parameter, the extended protocol's Parse/Bind/Execute spread over several
 * socket reads and intermittently hung the embedded server (1 stall in 12 runs of 60k rows,
 * none in 18 runs after the change). The column list keeps defaults for columns not sent.
 */
export class InsertSink implements RowSink {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowsPerStatement = 1000,
  ) {}

  async write(batch: SeedBatch): Promise<void> {
    for (let i = 0; i < batch.traces.length; i += this.rowsPerStatement) {
      await this.insertJson('traces', TRACE_COPY_COLUMNS, batch.traces.slice(i, i + this.rowsPerStatement));
    }
    for (let i = 0; i < batch.scores.length; i += this.rowsPerStatement) {
      await this.insertJson('scores', SCORE_COPY_COLUMNS, batch.scores.slice(i, i + this.rowsPerStatement));
    }
  }

  private async insertJson(table: 'traces' | 'scores', columns: readonly string[], rows: readonly object[]): Promise<void> {
    const cols = columns.map((c) => `"${c}"`).join(', ');
    // Dates become ISO strings and numbers keep their shortest exact text, so numeric costs stay exact.
    // Inlined as a literal rather than bound as a parameter: see the class comment. E'' reads
    // backslashes the same way whatever standard_conforming_strings says.
    const literal = `E'${JSON.stringify(rows).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
    await sql
      .raw(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${table}, ${literal}::json)`)
      .execute(this.db);
  }

  async finish(): Promise<void> {}

  async abort(): Promise<void> {}
}
