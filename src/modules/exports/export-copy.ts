import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database } from '../../db/schema';
import { traceConditions, type TraceFilter } from '../../query/trace-filter';
import { columnByName, type ExportColumn } from './export-columns';
import { lineSql, type KeysetPosition } from './export-reader';
import type { ExportFormat } from './export-writers';
import { OrderedOutput } from './ordered-output';

/**
 * Server mode, CSV and JSONL: PostgreSQL renders each line (terminator included) and COPY …
 * TO STDOUT (FORMAT binary) hands its bytes over; the gateway strips the 6-byte tuple headers
 * and pipes the payload into the file. No per-row JavaScript string is ever made.
 *
 * Binary rather than text/CSV COPY: those escape or re-quote values holding backslashes, CR or
 * LF (CSV fields with newlines), binary passes the text bytes as they are.
 */

interface ChunkQuery {
  scope: Scope;
  filter: TraceFilter;
  format: Exclude<ExportFormat, 'PARQUET'>;
  columns: readonly string[];
  /** At most this many rows (a chunk with a `limit` is paged by the last key it returns). */
  limit?: number;
  /** Rows after this key (exclusive); null: from the window's start. */
  after: KeysetPosition | null;
  /** Rows up to this key (inclusive); null or absent: to the window's end. */
  until?: KeysetPosition | null;
}

type ChunkRange = Pick<ChunkQuery, 'scope' | 'filter' | 'after' | 'until'>;

function chunkQuery(db: Kysely<Database>, q: ChunkRange) {
  let query = db.selectFrom('traces').where((eb) => traceConditions(eb, q.scope, q.filter));
  if (q.after) query = query.where(sql<SqlBool>`(traces.ts, traces.id) > (${q.after.ts}::timestamptz, ${q.after.id}::uuid)`);
  if (q.until) query = query.where(sql<SqlBool>`(traces.ts, traces.id) <= (${q.until.ts}::timestamptz, ${q.until.id}::uuid)`);
  return query;
}

const KEY_TS = sql<string>`to_char(traces.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The key of the `rows`-th row after `after` (the inclusive end of the next chunk), or null when
 * fewer rows than that remain (the next chunk is the last and runs to the window's end). Walks
 * the (org_id, ts, id) index only: far cheaper than rendering the rows, so the next chunk's range
 * is known before the current one has been rendered, and two backends can render in parallel.
 * Chunks planned this way partition the window: a row that arrives later lies in exactly one
 * range (it is read if that chunk has not run yet), so no row is ever written twice.
 */
export async function planChunkEnd(
  db: Kysely<Database>,
  q: Pick<ChunkQuery, 'scope' | 'filter' | 'after'> & { rows: number },
  timeoutMs: number,
): Promise<KeysetPosition | null> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true)`.execute(trx);
    const row = await chunkQuery(trx, q)
      .select([KEY_TS.as('ts'), sql<string>`traces.id::text`.as('id')])
      .orderBy(sql`traces.ts`)
      .orderBy(sql`traces.id`)
      .offset(q.rows - 1)
      .limit(1)
      .modifyEnd(sql`/* planChunkEnd */`)
      .executeTakeFirst();
    return row ? { ts: row.ts, id: row.id } : null;
  });
}

/** A compiled statement with its parameters written in as literals (COPY takes no parameters). */
export function inlineParameters(text: string, parameters: readonly unknown[], escapeLiteral: (s: string) => string): string {
  return text.replace(/\$(\d+)\b/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= parameters.length) throw new Error(`export COPY: no parameter $${n}`);
    return literal(parameters[i], escapeLiteral);
  });
}

function literal(v: unknown, escapeLiteral: (s: string) => string): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('export COPY: non-finite number parameter');
    return `(${String(v)})`;
  }
  if (typeof v === 'bigint') return `(${v.toString()})`;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'string') return escapeLiteral(v);
  if (v instanceof Date) return escapeLiteral(v.toISOString());
  if (Array.isArray(v)) return `ARRAY[${v.map((x) => literal(x, escapeLiteral)).join(',')}]`;
  return escapeLiteral(JSON.stringify(v));
}

/**
 * Strips COPY BINARY framing from a result of (line) or (line, keyset key): only the line's bytes
 * come out; the last row's key is kept (`lastKey`), rows are counted.
 */
export class CopyBinaryPayload extends Transform {
  private phase: 'signature' | 'extension' | 'tuple' | 'length' | 'data' | 'key' | 'done' = 'signature';
  private readonly head = Buffer.alloc(19);
  private fill = 0;
  private need = 19;
  private remaining = 0;
  private field = 0;
  private readonly key = Buffer.alloc(256);
  private keyLength = 0;
  rows = 0;

  /** `fields`: 2 for (line, keyset key), 1 for the line alone (a planned range needs no key). */
  constructor(private readonly fields: 1 | 2 = 2) {
    super();
  }

  /** The second column of the last row (null before any row). */
  get lastKey(): string | null {
    return this.rows ? this.key.toString('utf8', 0, this.keyLength) : null;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out = Buffer.allocUnsafe(chunk.length);
    let o = 0;
    let i = 0;
    try {
      while (i < chunk.length) {
        const p = this.phase;
        if (p === 'data' || p === 'extension' || p === 'key') {
          const n = Math.min(this.remaining, chunk.length - i);
          if (p === 'data') chunk.copy(out, o, i, i + n), (o += n);
          else if (p === 'key') chunk.copy(this.key, this.keyLength, i, i + n), (this.keyLength += n);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.nextField();
          continue;
        }
        if (p === 'done') break;
        const n = Math.min(this.need - this.fill, chunk.length - i);
        chunk.copy(this.head, this.fill, i, i + n);
        this.fill += n;
        i += n;
        if (this.fill < this.need) break;
        if (p === 'signature') {
          if (this.head.toString('latin1', 0, 11) !== 'PGCOPY\n\xff\r\n\0') throw new Error('export COPY: not a binary COPY stream');
          const ext = this.head.readUInt32BE(15);
          if (ext) (this.phase = 'extension'), (this.remaining = ext), (this.field = 1);
          else this.expect('tuple', 2);
        } else if (p === 'tuple') {
          const fields = this.head.readInt16BE(0);
          if (fields === -1) this.phase = 'done';
          else if (fields !== this.fields) throw new Error(`export COPY: ${fields} fields in a row, expected ${this.fields}`);
          else (this.field = 0), this.rows++, this.expect('length', 4);
        } else {
          const len = this.head.readInt32BE(0);
          if (this.field === 1) {
            if (len < 0 || len > this.key.length) throw new Error('export COPY: bad keyset key');
            this.keyLength = 0;
          }
          if (len <= 0) this.nextField();
          else (this.phase = this.field === 0 ? 'data' : 'key'), (this.remaining = len);
        }
      }
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, o ? out.subarray(0, o) : undefined);
  }

  override _flush(cb: TransformCallback): void {
    cb(this.phase === 'done' ? null : new Error('export COPY: the stream ended before its trailer'));
  }

  private nextField() {
    if (this.field === 0 && this.fields === 2) (this.field = 1), this.expect('length', 4);
    else this.expect('tuple', 2);
  }

  private expect(phase: 'tuple' | 'length', need: number) {
    this.phase = phase;
    this.need = need;
    this.fill = 0;
  }
}

/**
 * One chunk in one COPY statement, the lines' bytes into `sink`: either a planned key range
 * (`after`, `until`], or the next `limit` rows after `after` (then each line comes with its keyset
 * key, and the last key and the row count come from the stream itself, so the rows and the
 * position are the same snapshot). `sink` is not ended. On any error the client is discarded (a
 * COPY may be half read).
 */
export async function copyExportChunk(
  pool: pg.Pool,
  db: Kysely<Database>,
  q: ChunkQuery,
  sink: Writable,
  timeoutMs: number,
): Promise<{ last: KeysetPosition | null; count: number }> {
  const cols = q.columns.map((n) => columnByName(n) as ExportColumn);
  const eol = q.format === 'CSV' ? `E'\\r\\n'` : `E'\\n'`;
  const paged = q.limit !== undefined;
  const line = sql<string>`COALESCE(${lineSql(q.format, cols)}, '') || ${sql.raw(eol)}`.as('line');
  const lines = chunkQuery(db, q)
    .select(paged ? [line, sql<string>`${KEY_TS} || ' ' || traces.id::text`.as('k')] : [line])
    .orderBy(sql`traces.ts`)
    .orderBy(sql`traces.id`)
    .$if(q.limit !== undefined, (qb) => qb.limit(q.limit as number))
    .compile();
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)]);
    const text = inlineParameters(lines.sql, lines.parameters, (s) => client.escapeLiteral(s));
    const strip = new CopyBinaryPayload(paged ? 2 : 1);
    await pipeline(client.query(copyTo(`COPY (${text}) TO STDOUT (FORMAT binary)`)), strip, sink, { end: false });
    await client.query('COMMIT');
    const key = strip.lastKey;
    const space = key ? key.indexOf(' ') : -1;
    return { count: strip.rows, last: key && space > 0 ? { ts: key.slice(0, space), id: key.slice(space + 1) } : null };
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

export interface ParallelCopy {
  readonly scope: Scope;
  readonly filter: TraceFilter;
  readonly format: Exclude<ExportFormat, 'PARQUET'>;
  readonly columns: readonly string[];
  /** Rows per chunk (the planned ranges' size; progress and cancel points). */
  readonly chunkRows: number;
  /** Chunks rendered at once, each on its own backend (1: one after the other). */
  readonly parallel: number;
  /** Bytes a chunk that is not yet due may hold in memory before its COPY waits. */
  readonly maxBuffered: number;
  readonly timeoutMs: number;
}

/**
 * Every row of the filter, in (ts, id) order, as COPY chunks of planned key ranges: the range of
 * chunk n + 1 is planned (an index walk) while chunk n renders, up to `parallel` chunks render at
 * once on their own backends, and their bytes reach `sink` whole and in order (OrderedOutput).
 * `beforeChunk` runs before each chunk starts (cancel, lease and shutdown checks: throw to stop);
 * `afterChunk` gets each chunk's row count once its bytes are in the sink, in order. On any
 * error the chunks still running are torn down and awaited before it is thrown.
 */
export async function copyChunksInOrder(
  pool: pg.Pool,
  db: Kysely<Database>,
  q: ParallelCopy,
  sink: Writable,
  hooks: { beforeChunk: () => void; afterChunk: (rows: number) => Promise<void> },
): Promise<number> {
  const output = new OrderedOutput(sink, q.maxBuffered);
  const running: Promise<number>[] = [];
  let written = 0;
  const settleHead = async () => {
    const rows = await (running.shift() as Promise<number>);
    written += rows;
    await hooks.afterChunk(rows);
  };
  try {
    let after: KeysetPosition | null = null;
    for (let last = false; !last; ) {
      hooks.beforeChunk();
      const until = await planChunkEnd(db, { scope: q.scope, filter: q.filter, after, rows: q.chunkRows }, q.timeoutMs);
      const part = output.open();
      const chunk = { scope: q.scope, filter: q.filter, format: q.format, columns: q.columns, after, until };
      const task = copyExportChunk(pool, db, chunk, part, q.timeoutMs).then(async ({ count }) => {
        part.end();
        await finished(part);
        return count;
      });
      task.catch(() => undefined); // awaited in order below; a later chunk may fail first
      running.push(task);
      last = until === null;
      after = until;
      if (running.length >= q.parallel) await settleHead();
    }
    while (running.length) await settleHead();
    return written;
  } catch (err) {
    output.destroy();
    await Promise.allSettled(running);
    throw err;
  }
}
