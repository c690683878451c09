import pg from 'pg';
import { CompiledQuery, Kysely, type DatabaseConnection, type LogEvent, type QueryResult } from 'kysely';
import type { Database } from './schema';

/**
 * Reads in one round trip. A timed read used to cost three: `BEGIN; SET LOCAL …`, the statement,
 * `COMMIT` (and one more per further statement). Here every statement a read issues before the
 * next turn of the event loop goes to the server as one extended-protocol pipeline: the settings
 * (`set_config(…, true)`: statement timeout, and the class's other settings), then Parse, Bind,
 * Describe and Execute of each statement, then a single Sync. Until that Sync the server runs the
 * messages as one implicit transaction, so the settings hold for exactly these statements and
 * die with them (PgBouncer's transaction pooling sees one transaction, as before); an error
 * (a timeout, a cancelled statement) makes the server skip the rest up to the Sync and roll the
 * transaction back, and every statement of the batch from the failing one on rejects with that
 * error. Statements issued after an earlier one's answer (a read whose next statement depends on
 * the last) form the next batch on the same connection.
 *
 * Parameters stay parameters (never inlined into the text), so tracing and pg_stat_statements
 * see the same parameterised SQL as before.
 */

// pg's own conversion of JS values to parameters (Dates, arrays, Buffers, objects), as pg.Query uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (v: unknown) => unknown };

type PgResult = {
  rows: Record<string, unknown>[];
  command: string | null;
  rowCount: number | null;
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addCommandComplete(msg: unknown): void;
};
const PgResultClass = (pg as unknown as { Result: new () => PgResult }).Result;

/** The parts of pg's Connection a submitted query writes to (pg/lib/connection.js). */
interface WireConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parse(msg: { text: string; name: string; types: unknown[] }): void;
  bind(msg: { portal: string; statement: string; values: readonly unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P'; name: string }): void;
  execute(msg: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(msg: string): void;
}

interface Pending {
  readonly query: CompiledQuery;
  resolve(r: QueryResult<unknown>): void;
  reject(e: unknown): void;
}

/**
 * One pipeline as a pg "submittable" (what pg.Query and pg-cursor are): pg hands it the
 * connection to write to and routes the server's answers to it until ReadyForQuery. It settles
 * through `callback` so that tracing's pg instrumentation, which wraps that callback, ends its
 * span with it.
 */
class Pipeline {
  /** For tracing (db.statement): the statements' parameterised text, never their values. */
  readonly text: string;
  callback: ((err: Error | null, results?: PgResult[]) => void) | undefined;
  private readonly results: PgResult[] = [];
  private current: PgResult | null = null;
  private settled = false;

  constructor(
    private readonly preamble: string,
    private readonly statements: readonly CompiledQuery[],
  ) {
    this.text = statements.map((s) => s.sql).join(';\n');
  }

  submit(con: WireConnection): Error | null {
    con.stream.cork?.();
    try {
      for (const [text, values] of [[this.preamble, []] as const, ...this.statements.map((s) => [s.sql, s.parameters] as const)]) {
        con.parse({ text, name: '', types: [] });
        con.bind({ portal: '', statement: '', values, valueMapper: prepareValue });
        con.describe({ type: 'P', name: '' });
        con.execute({ portal: '', rows: 0 });
      }
      con.sync();
    } catch (err) {
      // A value pg cannot send (a circular object): nothing has been flushed yet (corked), but the
      // messages written so far are in the buffer, so the connection is unusable: pg's caller
      // gets the error and the client must be dropped (the batch releases it as broken).
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      con.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this.current = new PgResultClass();
    this.current.addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    const r = this.current;
    if (r) r.rows.push(r.parseRow(msg.fields));
  }

  handleCommandComplete(msg: unknown): void {
    const r = this.current ?? new PgResultClass();
    r.addCommandComplete(msg);
    this.results.push(r);
    this.current = null;
  }

  handleEmptyQuery(): void {
    this.results.push(new PgResultClass());
  }

  handleError(err: Error): void {
    // pg detaches the query before this call: the error settles it (ReadyForQuery goes unseen).
    this.settle(err);
  }

  handleReadyForQuery(): void {
    this.settle(null);
  }

  handlePortalSuspended(): void {
    // Never asked for (rows: 0 executes to completion).
  }

  handleCopyInResponse(con: WireConnection): void {
    con.sendCopyFail('COPY is not allowed in a read');
  }

  handleCopyData(): void {
    // Only after a COPY … TO, which a read never sends (the server would have said COPY OUT first).
  }

  /** The results of the statements that completed, in order (the preamble's first). */
  completed(): readonly PgResult[] {
    return this.results;
  }

  private settle(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    this.callback?.(err, this.results);
  }
}

const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function toQueryResult(r: PgResult): QueryResult<unknown> {
  if (r.command && AFFECTING.has(r.command) && r.rowCount !== null) return { numAffectedRows: BigInt(r.rowCount), rows: r.rows };
  return { rows: r.rows };
}

/**
 * The connection a batch's Kysely executes on: a statement is queued and sent with the others of
 * the same turn of the event loop (setImmediate: after every microtask, so the statements a read
 * starts side by side through several awaits all make it).
 */
class BatchConnection implements DatabaseConnection {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight: Promise<void> = Promise.resolve();
  /** The client answered with a connection error: it must not go back to the pool. */
  broken: Error | null = null;

  private readonly preambleQuery: CompiledQuery;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly preamble: string,
    private readonly log: (event: LogEvent) => void,
    private readonly normalizeError: (err: unknown) => unknown,
  ) {
    this.preambleQuery = CompiledQuery.raw(preamble);
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return new Promise<QueryResult<R>>((resolve, reject) => {
      this.pending.push({ query, resolve: resolve as Pending['resolve'], reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          const batch = this.pending;
          this.pending = [];
          // A batch waits for the one in flight (pg would queue it anyway; this keeps errors apart).
          this.inFlight = this.inFlight.then(() => this.send(batch));
        });
      }
    });
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not available in a read batch');
  }

  /** Settles when every statement queued so far has its answer. */
  async drained(): Promise<void> {
    while (this.scheduled || this.pending.length) await new Promise((r) => setImmediate(r));
    await this.inFlight;
  }

  private send(batch: Pending[]): Promise<void> {
    if (this.broken) {
      for (const p of batch) p.reject(this.normalizeError(this.broken));
      return Promise.resolve();
    }
    const started = performance.now();
    const pipeline = new Pipeline(this.preamble, batch.map((p) => p.query));
    return new Promise<void>((done) => {
      pipeline.callback = (err) => {
        const results = pipeline.completed();
        const ms = performance.now() - started;
        const error = err ? this.normalizeError(err) : null;
        // The settings are a statement too: listeners (metrics, tests) see what ran.
        if (results[0]) this.log({ level: 'query', query: this.preambleQuery, queryDurationMillis: ms });
        else this.log({ level: 'error', error, query: this.preambleQuery, queryDurationMillis: ms });
        batch.forEach((p, i) => {
          // results[0] is the preamble's; statement i's is results[i + 1] when it completed.
          const r = results[i + 1];
          if (r) {
            this.log({ level: 'query', query: p.query, queryDurationMillis: ms });
            p.resolve(toQueryResult(r));
          } else {
            const e = error ?? new Error('the server ended the read without answering this statement');
            this.log({ level: 'error', error: e, query: p.query, queryDurationMillis: ms });
            p.reject(e);
          }
        });
        // A statement's error (an ERROR with a SQLSTATE) leaves the connection usable; a FATAL one
        // (a terminated backend) or a socket error does not.
        const severity = (err as { severity?: unknown } | null)?.severity;
        if (err && (!(err as { code?: unknown }).code || severity === 'FATAL' || severity === 'PANIC')) this.broken = err;
        done();
      };
      // pg returns the submittable itself and calls its callback, also on connection errors.
      this.client.query(pipeline as unknown as pg.QueryConfig);
    });
  }
}

export interface ReadBatchDeps {
  readonly pool: { connect(): Promise<pg.PoolClient> };
  readonly log: (event: LogEvent) => void;
  /** A Kysely on the same database, whose executor (compiler, adapter, plugins) the batch reuses. */
  readonly db: Kysely<Database>;
  /** What a statement rejects with, made from what pg reported (database.ts: errors of this realm). */
  readonly normalizeError: (err: unknown) => unknown;
}

/**
 * Runs `fn` with a Kysely whose statements go out in batches on one pooled connection, under the
 * settings of the preamble (a parameterless `SELECT set_config(…)`). The connection goes back
 * when fn has settled and every statement it issued has its answer.
 */
export async function runReadBatch<T>(deps: ReadBatchDeps, preamble: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const client = await deps.pool.connect();
  const connection = new BatchConnection(client, preamble, deps.log, deps.normalizeError);
  const executor = deps.db.getExecutor().withConnectionProvider({ provideConnection: (consumer) => consumer(connection) });
  const props = { config: { dialect: batchDialect }, driver: noDriver, dialect: batchDialect, executor };
  const db = new Kysely<Database>(props as unknown as ConstructorParameters<typeof Kysely<Database>>[0]);
  try {
    return await fn(db);
  } finally {
    // A statement fn started but did not wait for still owns the connection until it is answered.
    await connection.drained().catch(() => undefined);
    client.release(connection.broken ?? undefined);
  }
}

/** A batch's Kysely only executes statements; it has no transactions or connections of its own. */
const unsupported = () => {
  throw new Error('a read batch runs statements only (no transactions, connections or introspection)');
};
const noDriver = { init: async () => undefined, acquireConnection: unsupported, beginTransaction: unsupported, commitTransaction: unsupported, rollbackTransaction: unsupported, releaseConnection: async () => undefined, destroy: async () => undefined };
const batchDialect = { createDriver: () => noDriver, createQueryCompiler: unsupported, createAdapter: unsupported, createIntrospector: unsupported };
