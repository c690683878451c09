import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database } from '../../db/schema';
import { traceConditions, type TraceFilter } from '../../query/trace-filter';
import { columnByName, type ExportColumn } from './export-columns';
import type { ExportBatch, ExportFormat } from './export-writers';

export interface KeysetPosition {
  readonly ts: string;
  readonly id: string;
}

const TS_KEY = sql<string>`to_char(traces.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The select list for a format. The catalog's SQL fragments are constants (no user input);
 * PostgreSQL renders CSV fields and JSON lines itself, so the gateway only joins text.
 */
/** The one text column of a line format: PostgreSQL renders CSV fields and JSON lines itself. */
export function lineSql(format: 'CSV' | 'JSONL', columns: readonly ExportColumn[]) {
  if (format === 'CSV') return sql<string>`${sql.raw(columns.map((c) => c.csv).join(` || ',' || `))}`;
  // Concatenated rather than json_build_object: compact (`{"ts":…,"id":…}`), keys in column order.
  const parts = columns.map((c, i) => `'${i ? ',' : '{'}"${c.name}":' || COALESCE(to_json(${c.json})::text, 'null')`).join(' || ');
  return sql<string>`${sql.raw(parts)} || '}'`;
}

/**
 * The select list for a format. The catalog's SQL fragments are constants (no user input);
 * PostgreSQL renders CSV fields and JSON lines itself, so the gateway only joins text.
 */
function selection(format: ExportFormat, columns: readonly ExportColumn[]) {
  if (format !== 'PARQUET') return [lineSql(format, columns).as('line')];
  return columns.map((c) => sql`${sql.raw(c.parquet)}`.as(`p_${c.name}`));
}

/**
 * One batch in (ts, id) order after `after`: the keyset is the unique index's order, so no row
 * is skipped or repeated between batches whatever arrives meanwhile.
 */
export async function readExportBatch(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; format: ExportFormat; columns: readonly string[]; limit: number; after: KeysetPosition | null },
): Promise<{ batch: ExportBatch; last: KeysetPosition | null; count: number }> {
  const cols = q.columns.map((n) => columnByName(n) as ExportColumn);
  let query = db
    .selectFrom('traces')
    .select([TS_KEY.as('k_ts'), sql<string>`traces.id::text`.as('k_id'), ...selection(q.format, cols)])
    .where((eb) => traceConditions(eb, q.scope, q.filter));
  if (q.after) query = query.where(sql<SqlBool>`(traces.ts, traces.id) > (${q.after.ts}::timestamptz, ${q.after.id}::uuid)`);
  const rows = (await query
    .orderBy(sql`traces.ts`)
    .orderBy(sql`traces.id`)
    .limit(q.limit)
    .modifyEnd(sql`/* readExportBatch */`)
    .execute()) as unknown as ({ k_ts: string; k_id: string; line?: string } & Record<string, unknown>)[];
  const tail = rows[rows.length - 1];
  const last = tail ? { ts: tail.k_ts, id: tail.k_id } : null;
  const batch: ExportBatch = q.format === 'PARQUET' ? { kind: 'columns', rows } : { kind: 'lines', lines: rows.map((r) => r.line as string) };
  return { batch, last, count: rows.length };
}
