import { createHash } from 'node:crypto';
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
 *
 * Prepared statements (`DB_PREPARED_STATEMENTS_MAX`): a statement that reads a rollup is parsed
 * once per connection under a name made from its text (`gw_` + sha1), and later reads on that
 * connection only Bind it: the server skips parsing and analysing a 2–7 KB text. They are bound
 * under `plan_cache_mode = force_generic_plan` (`DB_PREPARED_PLAN_CACHE_MODE`): the server plans
 * each once per connection and keeps that plan. Left to `auto`, PostgreSQL never kept one for
 * these statements (its generic estimate is above the custom plans' for range predicates) and
 * planned 100-odd aggregates again on every Bind: 1.2–2.6 ms of a 2.3–6.7 ms report statement.
 * A rollup statement's plan hardly depends on its values (index ranges over (org_id, bucket)
 * and the raw edges, which are shorter than the finest rollup's step plus the refresh lag).
 * Statements over raw rows only (lists, lookups, searches)
 * stay unnamed: their plans depend on the values (a rare model, a long range), so they are
 * planned for each one, as before. Each connection keeps at most `max` statements, closing the
 * least recently used. The name is the text's hash, so a name can only ever mean its text: a
 * pooler that moves transactions between server connections (PgBouncer < 1.21 in transaction
 * mode) shows up as "prepared statement … does not exist" or "… already exists", never as the
 * wrong statement; the batch is then sent again unnamed and prepared statements are turned off
 * for the pool (logged once).
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
  close(msg: { type: 'S'; name: string }): void;
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

/** How one statement of a pipeline is sent: `name` '' is the unnamed statement; `parse` false binds one prepared earlier. */
interface Sent {
  readonly text: string;
  readonly values: readonly unknown[];
  readonly name: string;
  readonly parse: boolean;
}

/** Prepared statements of a pool, shared by its connections (DB_PREPARED_STATEMENTS_MAX). */
export interface PreparedStatements {
  /** Statements each connection keeps prepared (least recently used closed first); 0 is off. */
  readonly max: number;
  /** Which statements are prepared (those that read a rollup). */
  readonly preparable: (text: string) => boolean;
  /** Told once when the server side turns out not to keep what a connection prepared. */
  readonly onDisabled: (err: unknown) => void;
  /**
   * How the server plans a prepared statement (PostgreSQL's `plan_cache_mode`, set around the
   * prepared statements of a pipeline only): `force_generic_plan` plans it once per connection;
   * `auto` leaves the choice to the server (which re-plans a report statement on every Bind).
   */
  readonly planCacheMode?: PlanCacheMode;
  disabled?: boolean;
}

export type PlanCacheMode = 'auto' | 'force_generic_plan' | 'force_custom_plan';

/**
 * The plan-mode switches of a pipeline: before its first prepared statement the session's
 * `plan_cache_mode` is kept in a placeholder setting and replaced; before an unnamed statement
 * that follows, it is put back. Both are transaction-local (`set_config(…, true)`): they end
 * with the pipeline's Sync like the preamble's settings, so nothing outlives the read.
 */
const planModeSwitch = (mode: PlanCacheMode) =>
  `SELECT set_config('analytics_gateway.plan_cache_mode', current_setting('plan_cache_mode'), true), set_config('plan_cache_mode', '${mode}', true) /* planCacheMode */`;
const PLAN_MODE_SWITCH: Record<PlanCacheMode, string> = { auto: planModeSwitch('auto'), force_generic_plan: planModeSwitch('force_generic_plan'), force_custom_plan: planModeSwitch('force_custom_plan') };
const PLAN_MODE_RESTORE = `SELECT set_config('plan_cache_mode', current_setting('analytics_gateway.plan_cache_mode'), true) /* planCacheMode */`;

/** The statements a connection has prepared, by text, oldest use first; and names to close on its next round trip. */
interface StatementCache {
  readonly names: Map<string, string>;
  closing: string[];
}
const statementCaches = new WeakMap<object, StatementCache>();

/** Errors that mean the connection's prepared statements are not what this client believes. */
const FOREIGN_STATE = new Set(['26000', '42P05']); // invalid_sql_statement_name, duplicate_prepared_statement
const isStalePlan = (err: { code?: unknown; message?: unknown }) =>
  err.code === '0A000' && typeof err.message === 'string' && err.message.includes('cached plan must not change result type');

const statementName = (text: string) => `gw_${createHash('sha1').update(text).digest('hex')}`;

/** A column of a RowDescription, as pg-protocol parses it. */
interface FieldDescription {
  readonly name: string;
  readonly dataTypeID: number;
  readonly format?: string;
}

/**
 * How the rows of one statement are read: the columns' names and pg's text parsers for their
 * types, looked up once. pg's Result does it for every result (a null-prototype object of the
 * names, spread into every row); a prepared statement's columns never change, so its shape is
 * kept by its name (checked against each RowDescription, so a changed result type is rebuilt).
 */
interface RowShape {
  readonly fields: readonly FieldDescription[];
  parse(values: readonly (string | null)[]): Record<string, unknown>;
}

const rowShapes = new Map<string, RowShape>();
const ROW_SHAPES_MAX = 1000;

function rowShapeOf(name: string, fields: readonly FieldDescription[]): RowShape | null {
  const known = name ? rowShapes.get(name) : undefined;
  if (known && sameFields(known.fields, fields)) return known;
  if (fields.some((f) => f.format === 'binary')) return null;
  const names = fields.map((f) => f.name);
  const parsers = fields.map((f) => pg.types.getTypeParser(f.dataTypeID, 'text') as (v: string) => unknown);
  const n = names.length;
  const shape: RowShape = {
    fields: fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
    parse(values) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const v = values[i];
        row[names[i]!] = v === null || v === undefined ? null : parsers[i]!(v);
      }
      return row;
    },
  };
  if (name) {
    if (rowShapes.size >= ROW_SHAPES_MAX) rowShapes.delete(rowShapes.keys().next().value!);
    rowShapes.set(name, shape);
  }
  return shape;
}

function sameFields(a: readonly FieldDescription[], b: readonly FieldDescription[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name || a[i]!.dataTypeID !== b[i]!.dataTypeID) return false;
  return true;
}

/**
 * One pipeline as a pg "submittable" (what pg.Query and pg-cursor are): pg hands it the
 * connection to write to and routes the server's answers to it until ReadyForQuery. It settles
 * through `callback` so that tracing's pg instrumentation, which wraps that callback, ends its
 * span with it.
 */
class Pipeline {
  callback: ((err: Error | null, results?: PgResult[]) => void) | undefined;
  private readonly results: PgResult[] = [];
  private current: PgResult | null = null;
  private settled = false;
  /** For each statement written, in order: whether its result is the caller's (false: a plan-mode switch). */
  private readonly answers: boolean[] = [];
  /** For each statement written, in order: its prepared name ('' unnamed), whose row shape is kept. */
  private readonly names: string[] = [];
  private answered = 0;
  private shape: RowShape | null = null;

  constructor(
    private readonly preamble: string,
    private readonly statements: readonly Sent[],
    /** Prepared statements to close first (evicted from the connection's cache). */
    private readonly closing: readonly string[],
    /** The plan mode of the prepared statements; null: the session's, untouched. */
    private readonly planMode: PlanCacheMode | null,
  ) {}

  /** For tracing (db.statement): the statements' parameterised text, never their values (joined only when read). */
  get text(): string {
    return this.statements.map((s) => s.text).join(';\n');
  }

  submit(con: WireConnection): Error | null {
    con.stream.cork?.();
    const write = (text: string, values: readonly unknown[], name: string, parse: boolean, answers: boolean) => {
      if (parse) con.parse({ text, name, types: [] });
      con.bind({ portal: '', statement: name, values, valueMapper: prepareValue });
      con.describe({ type: 'P', name: '' });
      con.execute({ portal: '', rows: 0 });
      this.answers.push(answers);
      this.names.push(name);
    };
    try {
      // Closing a statement the server does not have is not an error (CloseComplete either way).
      for (const name of this.closing) con.close({ type: 'S', name });
      write(this.preamble, [], '', true, true);
      let switched = false;
      for (const { text, values, name, parse } of this.statements) {
        const named = name !== '';
        if (this.planMode && named !== switched) {
          write(named ? PLAN_MODE_SWITCH[this.planMode] : PLAN_MODE_RESTORE, [], '', true, false);
          switched = named;
        }
        write(text, values, name, parse, true);
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

  handleRowDescription(msg: { fields: FieldDescription[] }): void {
    this.current = new PgResultClass();
    const shape = rowShapeOf(this.names[this.answered] ?? '', msg.fields);
    if (shape) this.shape = shape;
    else {
      // A binary column (never asked for): pg's own parsing.
      this.shape = null;
      this.current.addFields(msg.fields);
    }
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    const r = this.current;
    if (!r) return;
    const shape = this.shape;
    r.rows.push(shape ? shape.parse(msg.fields) : r.parseRow(msg.fields));
  }

  handleCommandComplete(msg: unknown): void {
    const r = this.current ?? new PgResultClass();
    this.current = null;
    if (!this.answersCaller()) return;
    r.addCommandComplete(msg);
    this.results.push(r);
  }

  handleEmptyQuery(): void {
    if (this.answersCaller()) this.results.push(new PgResultClass());
  }

  /** Counts a statement answered: false for a plan-mode switch, whose result nobody asked for. */
  private answersCaller(): boolean {
    return this.answers[this.answered++] ?? true;
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
    private readonly prepared: PreparedStatements | null,
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

  /** This connection's prepared statements, or null when they are off. */
  private cache(): StatementCache | null {
    const p = this.prepared;
    if (!p || p.max <= 0 || p.disabled) return null;
    let c = statementCaches.get(this.client);
    if (!c) statementCaches.set(this.client, (c = { names: new Map(), closing: [] }));
    return c;
  }

  /**
   * How each statement goes out: a prepared one by its name (most recently used last), a new
   * preparable one parsed under its name (the least recently used closed past `max`), the rest unnamed.
   */
  private plan(batch: readonly Pending[], cache: StatementCache | null): { sent: Sent[]; added: string[] } {
    const added: string[] = [];
    const sent = batch.map(({ query }): Sent => {
      const text = query.sql;
      const values = query.parameters;
      if (!cache) return { text, values, name: '', parse: true };
      // The cache first: a known text needs no second look (preparable scans the whole text).
      const known = cache.names.get(text);
      if (known) {
        cache.names.delete(text);
        cache.names.set(text, known);
        return { text, values, name: known, parse: false };
      }
      if (!this.prepared!.preparable(text)) return { text, values, name: '', parse: true };
      const name = statementName(text);
      cache.names.set(text, name);
      added.push(text);
      return { text, values, name, parse: true };
    });
    if (cache) {
      // Never close one this batch uses: it may hold more distinct statements than max.
      const used = new Set(sent.map((x) => x.name));
      for (const [text, name] of cache.names) {
        if (cache.names.size <= this.prepared!.max) break;
        if (used.has(name)) continue;
        cache.names.delete(text);
        cache.closing.push(name);
      }
    }
    return { sent, added };
  }

  private send(batch: Pending[], retried = false): Promise<void> {
    if (this.broken) {
      for (const p of batch) p.reject(this.normalizeError(this.broken));
      return Promise.resolve();
    }
    const started = performance.now();
    const cache = this.cache();
    const { sent, added } = this.plan(batch, cache);
    const closing = cache?.closing ?? [];
    if (cache) cache.closing = [];
    const mode = this.prepared?.planCacheMode;
    const pipeline = new Pipeline(this.preamble, sent, closing, mode && mode !== 'auto' && sent.some((x) => x.name !== '') ? mode : null);
    return new Promise<void>((done) => {
      pipeline.callback = (err) => {
        const results = pipeline.completed();
        const ms = performance.now() - started;
        const code = (err as { code?: unknown } | null)?.code;
        // A prepared statement the server does not have (or has already): the pool's server side is
        // not this connection's (a pooler in transaction mode). A cached plan whose result type a
        // migration changed: this connection's statements are parsed again.
        const foreign = !!err && typeof code === 'string' && FOREIGN_STATE.has(code);
        const stale = !!err && isStalePlan(err as { code?: unknown; message?: unknown });
        const usedNames = sent.some((x) => x.name !== '');
        if (cache && err) {
          if (foreign || stale) {
            // Nothing known about this connection's statements any more: close every name (a name
            // the server lacks closes without error) and start over.
            cache.closing.push(...cache.names.values());
            cache.names.clear();
          } else {
            // Statements from the failing one on were skipped: their Parse may not have run.
            const failedAt = results.length - 1; // statements answered: results minus the preamble
            for (const text of added) {
              const i = sent.findIndex((x) => x.text === text && x.parse);
              if (i >= failedAt) {
                cache.closing.push(cache.names.get(text)!);
                cache.names.delete(text);
              }
            }
          }
        }
        if (foreign && this.prepared && !this.prepared.disabled) {
          this.prepared.disabled = true;
          this.prepared.onDisabled(err);
        }
        const retry = !retried && usedNames && (foreign || stale);
        const error = err ? this.normalizeError(err) : null;
        // The settings are a statement too: listeners (metrics, tests) see what ran.
        if (results[0]) this.log({ level: 'query', query: this.preambleQuery, queryDurationMillis: ms });
        else if (!retry) this.log({ level: 'error', error, query: this.preambleQuery, queryDurationMillis: ms });
        const again: Pending[] = [];
        batch.forEach((p, i) => {
          // results[0] is the preamble's; statement i's is results[i + 1] when it completed.
          const r = results[i + 1];
          if (r) {
            this.log({ level: 'query', query: p.query, queryDurationMillis: ms });
            p.resolve(toQueryResult(r));
          } else if (retry) {
            again.push(p);
          } else {
            const e = error ?? new Error('the server ended the read without answering this statement');
            this.log({ level: 'error', error: e, query: p.query, queryDurationMillis: ms });
            p.reject(e);
          }
        });
        // A statement's error (an ERROR with a SQLSTATE) leaves the connection usable; a FATAL one
        // (a terminated backend) or a socket error does not.
        const severity = (err as { severity?: unknown } | null)?.severity;
        if (err && (!code || severity === 'FATAL' || severity === 'PANIC')) this.broken = err;
        // Once more, with the statements the server skipped: unnamed if prepared statements are now
        // off, else parsed again under their names.
        if (again.length) void this.send(again, true).then(done);
        else done();
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
  /** The pool's prepared statements; absent or max 0: every statement unnamed. */
  readonly prepared?: PreparedStatements;
}

/**
 * Runs `fn` with a Kysely whose statements go out in batches on one pooled connection, under the
 * settings of the preamble (a parameterless `SELECT set_config(…)`). The connection goes back
 * when fn has settled and every statement it issued has its answer.
 */
export async function runReadBatch<T>(deps: ReadBatchDeps, preamble: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const client = await deps.pool.connect();
  const connection = new BatchConnection(client, preamble, deps.log, deps.normalizeError, deps.prepared ?? null);
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
