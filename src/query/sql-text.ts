import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import type { Database } from '../db/schema';

/**
 * The report statements' SQL builder: the subset of Kysely's `sql` template tag the rollup
 * planner uses (`sql\`…\``, `sql.raw`, `sql.lit`, `sql.join`, `sql.ref`, `sql.table`, `sql.val`,
 * `.execute(db)`), made of strings and bound values only. Kysely builds every fragment as a
 * frozen operation-node tree and compiles it again with a visitor; a report reads 3–4 statements
 * of 2–7 KB each, and building and compiling them through Kysely was about a tenth of the
 * gateway's CPU under the aggregation load (bench/results/load-s38-prof.md). Here a fragment is
 * an array of text and values, and compiling is one walk that numbers the parameters.
 *
 * Values are always bound parameters (`$n`), never spliced into the text; only `raw` (fixed
 * SQL and whitelisted identifiers), `lit` (numbers, or constant strings of this codebase) and
 * quoted identifiers reach it. The statements still run on the batch's Kysely
 * (`db.executeQuery`), so the read batch, prepared statements, logging and error handling
 * see them as before.
 */
export class Sql<T = unknown> {
  /** @internal Text (string) and what goes between it: a nested fragment or a bound value. */
  readonly chunks: readonly (string | Sql | Param)[];
  /** Phantom: the row type a statement returns. */
  declare readonly __rows?: T;

  constructor(chunks: readonly (string | Sql | Param)[]) {
    this.chunks = chunks;
  }

  /** The statement's text with `$1…$n` placeholders and its parameters, in order. */
  compile(): { text: string; parameters: unknown[] } {
    const parameters: unknown[] = [];
    const parts: string[] = [];
    compileInto(this, parts, parameters);
    // One flat string (join copies once): its hash, computed when the read batch looks the text
    // up among its prepared statements, then needs no flattening of a deep concatenation first.
    return { text: parts.join(''), parameters };
  }

  execute(db: Kysely<Database>): Promise<QueryResult<T>> {
    const { text, parameters } = this.compile();
    return db.executeQuery<T>(CompiledQuery.raw(text, parameters));
  }
}

/** A bound value (boxed, so that a value that is itself a Sql or a string is never mistaken for text). */
class Param {
  constructor(readonly value: unknown) {}
}

function compileInto(s: Sql, parts: string[], parameters: unknown[]): void {
  for (const c of s.chunks) {
    if (typeof c === 'string') parts.push(c);
    else if (c instanceof Param) parts.push(`$${parameters.push(c.value)}`);
    else compileInto(c, parts, parameters);
  }
}

const EMPTY = new Sql([]);

/** `sql\`… ${value} …\``: a value becomes a bound parameter, a Sql fragment is embedded. */
function tag<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Sql<T> {
  const chunks: (string | Sql | Param)[] = [];
  for (let i = 0; i < strings.length; i++) {
    if (strings[i]) chunks.push(strings[i]!);
    if (i < values.length) {
      const v = values[i];
      // A Kysely fragment is not a value: bound as one, it would send its node tree as a parameter.
      if (v !== null && typeof v === 'object' && typeof (v as { toOperationNode?: unknown }).toOperationNode === 'function') {
        throw new Error('a Kysely expression cannot be embedded in a report statement (src/query/sql-text.ts)');
      }
      chunks.push(v instanceof Sql ? v : new Param(v));
    }
  }
  return new Sql<T>(chunks);
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

export const sql = Object.assign(tag, {
  /** Fixed SQL text (constants of this codebase and whitelisted identifiers only). */
  raw: <T = unknown>(text: string): Sql<T> => new Sql<T>(text ? [text] : []),
  /** A literal in the text: a finite number, or a string quoted and escaped. */
  lit: <T = unknown>(value: number | string): Sql<T> => {
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
      return new Sql<T>([String(value)]);
    }
    return new Sql<T>([`'${value.replace(/'/g, "''")}'`]);
  },
  /** A bound value. */
  val: <T = unknown>(value: unknown): Sql<T> => new Sql<T>([new Param(value)]),
  /** Fragments separated by `separator` (default `, `). */
  join: <T = unknown>(parts: readonly Sql[], separator: Sql = sql.raw(', ')): Sql<T> => {
    const chunks: Sql[] = [];
    parts.forEach((p, i) => {
      if (i) chunks.push(separator);
      chunks.push(p);
    });
    return new Sql<T>(chunks);
  },
  /** A column reference, `a` or `t.a`, each part quoted. */
  ref: <T = unknown>(name: string): Sql<T> => new Sql<T>([name.split('.').map(quoteIdentifier).join('.')]),
  /** A table name, quoted. */
  table: <T = unknown>(name: string): Sql<T> => new Sql<T>([quoteIdentifier(name)]),
  /** The empty fragment. */
  empty: EMPTY,
});

/** Statements of the same shape as one `a UNION ALL b UNION ALL …` (one branch per source piece). */
export const unionAll = <T>(parts: readonly Sql<T>[]): Sql<T> => sql.join<T>(parts, UNION_ALL);
const UNION_ALL = sql.raw(' UNION ALL ');
