import type { Kysely } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';
import { HIST_BUCKETS, HIST_MAX_MS } from '../../db/migrations/rollup-definitions';
import { termsSql, traceConditionsSql, type TraceFilter } from './trace-filter';
import { RAW_DIMENSION_SQL, ROLLUP_DIMENSION_SQL, USER_ROLLUP_DIMENSION_SQL, type Dimension } from './dimensions';
import type { Interval } from './intervals';
import { bucketSql } from './calendar-buckets';
import type { SourcePiece } from './source-plan';
import type { TraceColumn, TraceTerm } from './tenant-scope';
import { sql, unionAll, type Sql as RawBuilder } from './sql-text';

/** Sums for one (time bucket, group) out of one source piece. Counts arrive as float8. */
export interface StatsRow {
  t: Date | null;
  d0: string | null;
  d1: string | null;
  d2: string | null;
  n: number;
  errors: number;
  dur_sum: number;
  dur_min: number | null;
  dur_max: number | null;
  ttft_sum: number | null;
  ttft_n: number;
  ttft_min: number | null;
  ttft_max: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  /** numeric text: money is summed exactly (src/shared/money.ts). */
  prompt_cost: string;
  completion_cost: string;
  total_cost: string;
}

export interface StatsQuery {
  scope: Scope;
  filter: TraceFilter;
  piece: SourcePiece;
  interval: Interval | null;
  /** Calendar buckets (DAY, WEEK, MONTH) in this IANA zone; default UTC. */
  timeZone?: string;
  dims: readonly Dimension[];
  /** Which sums to read (default: all); the others read as zero / NULL. */
  columns?: StatsColumns;
  /**
   * Rows per bucket and per group, not per (bucket, group): GROUPING SETS ((t), (d0, d1, d2)).
   * A row with a bucket time belongs to the series (and the total), one without to its group.
   * For answers that read the series and the groups but not the groups' series.
   */
  splitSeries?: boolean;
  /** Only the rows of these groups (their d0..d2 values, NULL-safe): the histogram cells of the groups an answer shows. */
  groupKeys?: readonly (readonly (string | null)[])[];
}

const timeExpr = (interval: Interval | null, column: 'ts' | 'bucket', timeZone?: string) => bucketSql(interval, column, timeZone);

const isUserRollup = (source: SourcePiece['source']) => source.startsWith('traces_user_');

function dimExprs(dims: readonly Dimension[], rollup: boolean | 'user'): RawBuilder<string | null>[] {
  const out: RawBuilder<string | null>[] = [];
  const map = rollup === 'user' ? USER_ROLLUP_DIMENSION_SQL : ROLLUP_DIMENSION_SQL;
  for (let i = 0; i < 3; i++) {
    const d = dims[i];
    const col = d ? (rollup ? map[d] : RAW_DIMENSION_SQL[d]) : null;
    if (d && !col) throw new Error(`dimension ${d} is not available from rollups`);
    out.push(sql.raw<string | null>(col ? `(${col})::text` : 'NULL::text'));
  }
  return out;
}

const table = (source: SourcePiece['source']) => sql.table(source);

/** Tenant scope and the filters rollups carry (key columns only). */
function rollupConditions(q: StatsQuery): RawBuilder {
  const f = q.filter;
  const c: TraceTerm[] = [
    { column: 'org_id', op: '=', value: q.scope.orgId },
    { column: 'bucket' as TraceColumn, op: '>=', value: q.piece.from },
    { column: 'bucket' as TraceColumn, op: '<', value: q.piece.to },
  ];
  if (q.scope.projectIds) c.push({ column: 'project_id', op: 'in', value: [...q.scope.projectIds] });
  if (f.projectIds) c.push({ column: 'project_id', op: 'in', value: [...f.projectIds] });
  if (f.providers) c.push({ column: 'provider', op: 'in', value: [...f.providers] });
  if (f.models) c.push({ column: 'model', op: 'in', value: [...f.models] });
  if (f.environments) c.push({ column: 'environment', op: 'in', value: [...f.environments] });
  const conds = termsSql(c);
  return f.userIds ? sql`${conds} AND user_id = ANY(${[...f.userIds]}::text[])` : conds;
}

const rawFilter = (q: StatsQuery): TraceFilter => ({ ...q.filter, from: q.piece.from, to: q.piece.to });

/** Groups of sums a question can leave out (counts and errors are always read). */
export interface StatsColumns {
  duration: boolean;
  ttft: boolean;
  tokens: boolean;
  cost: boolean;
}
export const ALL_COLUMNS: StatsColumns = { duration: true, ttft: true, tokens: true, cost: true };
/** Request and error counts only. */
export const COUNT_COLUMNS: StatsColumns = { duration: false, ttft: false, tokens: false, cost: false };

/** Each sum from raw rows and from rollup rows, and what it reads as when its group is left out. */
const SUMS: readonly { as: keyof StatsRow; group: keyof StatsColumns | null; raw: string; rollup: string; off: string }[] = [
  { as: 'n', group: null, raw: 'count(*)::float8', rollup: 'sum(request_count)::float8', off: '' },
  { as: 'errors', group: null, raw: 'count(*) FILTER (WHERE status_code >= 400)::float8', rollup: 'sum(error_count)::float8', off: '' },
  { as: 'dur_sum', group: 'duration', raw: 'coalesce(sum(duration_ms), 0)', rollup: 'coalesce(sum(duration_sum), 0)', off: '0::float8' },
  { as: 'dur_min', group: 'duration', raw: 'min(duration_ms)', rollup: 'min(duration_min)', off: 'NULL::float8' },
  { as: 'dur_max', group: 'duration', raw: 'max(duration_ms)', rollup: 'max(duration_max)', off: 'NULL::float8' },
  { as: 'ttft_sum', group: 'ttft', raw: 'sum(ttft_ms)', rollup: 'sum(ttft_sum)', off: 'NULL::float8' },
  { as: 'ttft_n', group: 'ttft', raw: 'count(ttft_ms)::float8', rollup: 'coalesce(sum(ttft_count), 0)::float8', off: '0::float8' },
  { as: 'ttft_min', group: 'ttft', raw: 'min(ttft_ms)', rollup: 'min(ttft_min)', off: 'NULL::float8' },
  { as: 'ttft_max', group: 'ttft', raw: 'max(ttft_ms)', rollup: 'max(ttft_max)', off: 'NULL::float8' },
  { as: 'prompt_tokens', group: 'tokens', raw: 'coalesce(sum(prompt_tokens), 0)::float8', rollup: 'coalesce(sum(prompt_tokens_sum), 0)::float8', off: '0::float8' },
  { as: 'completion_tokens', group: 'tokens', raw: 'coalesce(sum(completion_tokens), 0)::float8', rollup: 'coalesce(sum(completion_tokens_sum), 0)::float8', off: '0::float8' },
  { as: 'cached_tokens', group: 'tokens', raw: 'coalesce(sum(cached_tokens), 0)::float8', rollup: 'coalesce(sum(cached_tokens_sum), 0)::float8', off: '0::float8' },
  { as: 'total_tokens', group: 'tokens', raw: 'coalesce(sum(total_tokens), 0)::float8', rollup: 'coalesce(sum(total_tokens_sum), 0)::float8', off: '0::float8' },
  { as: 'prompt_cost', group: 'cost', raw: 'coalesce(sum(prompt_cost_usd), 0)::text', rollup: 'coalesce(sum(prompt_cost_sum), 0)::text', off: "'0'::text" },
  { as: 'completion_cost', group: 'cost', raw: 'coalesce(sum(completion_cost_usd), 0)::text', rollup: 'coalesce(sum(completion_cost_sum), 0)::text', off: "'0'::text" },
  { as: 'total_cost', group: 'cost', raw: 'coalesce(sum(total_cost_usd), 0)::text', rollup: 'coalesce(sum(total_cost_sum), 0)::text', off: "'0'::text" },
];

/**
 * The select list of the sums: a group of sums the request does not need reads as a constant
 * (zero, NULL), so PostgreSQL skips those aggregates. The three `numeric` cost sums are the
 * dearest of them: `costs(last 7d, groupBy: [PROVIDER], interval: DAY)` reading its four of
 * sixteen sums took 2.2 ms instead of 3.1 ms at 300k traces.
 */
const sumsList = (columns: StatsColumns, from: 'raw' | 'rollup') => {
  // 2 × 16 possible lists, each built once (a RawBuilder is immutable).
  const key = `${from}${+columns.duration}${+columns.ttft}${+columns.tokens}${+columns.cost}`;
  let list = sumsLists.get(key);
  if (!list) sumsLists.set(key, (list = sql.raw(SUMS.map((x) => `${x.group && !columns[x.group] ? x.off : x[from]} AS ${x.as}`).join(',\n           '))));
  return list;
};
const sumsLists = new Map<string, RawBuilder<unknown>>();

/** One piece's sums as a SELECT (grouped by bucket and dimensions), without its statement comment. */
function statsSelect(q: StatsQuery): RawBuilder<StatsRow> {
  const columns = q.columns ?? ALL_COLUMNS;
  if (q.piece.source === 'traces') {
    const [d0, d1, d2] = dimExprs(q.dims, false);
    return sql<StatsRow>`
      SELECT ${timeExpr(q.interval, 'ts', q.timeZone)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2,
             ${sumsList(columns, 'raw')}
        FROM traces
       WHERE ${whereRaw(q)}
       GROUP BY ${groupByOf(q)}`;
  }
  const [d0, d1, d2] = dimExprs(q.dims, isUserRollup(q.piece.source) ? 'user' : true);
  return sql<StatsRow>`
    SELECT ${timeExpr(q.interval, 'bucket', q.timeZone)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2,
           ${sumsList(columns, 'rollup')}
      FROM ${table(q.piece.source)}
     WHERE ${whereRollup(q)}
     GROUP BY ${groupByOf(q)}`;
}

// t (a time_bucket of a NOT NULL column) is never NULL in the (t) set, so NULL tells the sets apart.
const groupByOf = (q: StatsQuery) => sql.raw(q.splitSeries && q.interval !== null && q.dims.length ? 'GROUPING SETS ((1), (2, 3, 4))' : '1, 2, 3, 4');

/** The pieces' tables as the statement comment names them (`traces+traces_1hour+…`). */
const sourcesTag = (pieces: readonly SourcePiece[]) => sql.raw(pieces.map((p) => p.source).join('+'));

/**
 * The sums of every piece of one question in one statement: each piece is its own branch of a
 * UNION ALL (one round trip and one plan instead of one per piece). Rows of different pieces
 * for the same bucket and group stay separate; the gateway adds them.
 */
export async function sumTraceStatsPlanned(db: Kysely<Database>, q: Omit<StatsQuery, 'piece'>, pieces: readonly SourcePiece[]): Promise<StatsRow[]> {
  if (!pieces.length) return [];
  const { rows } = await sql<StatsRow>`${unionAll(pieces.map((piece) => statsSelect({ ...q, piece })))} /* sumTraceStats:${sourcesTag(pieces)} */`.execute(db);
  return rows;
}

/**
 * The sums of the points and the total (`series`: no dimensions, at the interval) and of the
 * groups (`groups`: no interval) in one statement, each from its own pieces: rows with a bucket
 * time are points, rows without are groups.
 */
export async function sumTraceStatsSplit(
  db: Kysely<Database>,
  series: Omit<StatsQuery, 'piece'>,
  seriesPieces: readonly SourcePiece[],
  groups: Omit<StatsQuery, 'piece'>,
  groupPieces: readonly SourcePiece[],
): Promise<StatsRow[]> {
  const selects = [...seriesPieces.map((piece) => statsSelect({ ...series, piece })), ...groupPieces.map((piece) => statsSelect({ ...groups, piece }))];
  if (!selects.length) return [];
  const { rows } = await sql<StatsRow>`${unionAll(selects)} /* sumTraceStats:${sourcesTag([...seriesPieces, ...groupPieces])} */`.execute(db);
  return rows;
}

/** The sums of one source piece. */
export function sumTraceStats(db: Kysely<Database>, q: StatsQuery): Promise<StatsRow[]> {
  return sumTraceStatsPlanned(db, q, [q.piece]);
}

/** Which accumulators need latency percentiles: the answer's total, groups, series points, group series points. */
export interface PercentileLevels {
  total: boolean;
  group: boolean;
  series: boolean;
  groupSeries: boolean;
}
export const ALL_LEVELS: PercentileLevels = { total: true, group: true, series: true, groupSeries: true };

/**
 * One level's histogram (GROUPING SETS): its non-empty cells packed as `cell:count,cell:count…`
 * in ascending cell order (addPackedCells reads them), one row per (t, group) of the level instead of
 * one per cell: pg parses 6 columns of one row instead of 8 of each of 10–100 rows.
 */
export interface LevelCellRow {
  t: Date | null;
  d0: string | null;
  d1: string | null;
  d2: string | null;
  /** 0 when the row belongs to the time level / the group level (GROUPING() semantics). */
  by_time: number;
  by_group: number;
  cells: string;
}


/** A raw piece's histogram cells as (t, d0, d1, d2, cell, c) rows, one per trace, not summed yet. */
function rawCellsSelect(q: StatsQuery): RawBuilder<unknown> {
  const [d0, d1, d2] = dimExprs(q.dims, false);
  return sql`SELECT ${timeExpr(q.interval, 'ts', q.timeZone)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2,
             width_bucket(ln(greatest(duration_ms, 1)), 0, ln(${sql.lit(HIST_MAX_MS)}::float8), ${sql.lit(HIST_BUCKETS)}) AS cell,
             1::float8 AS c
        FROM traces WHERE ${whereRaw(q)}${groupKeysCondition(q, [d0!, d1!, d2!])}`;
}

/** A rollup piece's rows as (t, d0, d1, d2, latency_hist). */
function rollupHistSelect(q: StatsQuery): RawBuilder<unknown> {
  const [d0, d1, d2] = dimExprs(q.dims, isUserRollup(q.piece.source) ? 'user' : true);
  return sql`SELECT ${timeExpr(q.interval, 'bucket', q.timeZone)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2, latency_hist
                FROM ${table(q.piece.source)} WHERE ${whereRollup(q)}${groupKeysCondition(q, [d0!, d1!, d2!])}`;
}

/**
 * ` AND (the row is one of q.groupKeys)`, empty without them: for one dimension `= ANY(…)` (plus
 * `IS NULL` for a NULL key), else one NULL-safe comparison per key. Values are bound; the
 * dimension expressions are the whitelisted ones of dimExprs.
 */
function groupKeysCondition(q: Omit<StatsQuery, 'piece'>, exprs: readonly RawBuilder<string | null>[]): RawBuilder<unknown> {
  const keys = q.groupKeys;
  if (!keys) return sql``;
  if (!keys.length) return sql` AND false`;
  const n = q.dims.length;
  if (n === 1) {
    const values = keys.map((k) => k[0] ?? null).filter((v): v is string => v !== null);
    const withNull = keys.some((k) => (k[0] ?? null) === null);
    return sql` AND (${exprs[0]!} = ANY(${values}::text[])${withNull ? sql` OR ${exprs[0]!} IS NULL` : sql``})`;
  }
  const one = (k: readonly (string | null)[]) =>
    sql`(${sql.join(Array.from({ length: n }, (_, i) => sql`${exprs[i]!} IS NOT DISTINCT FROM ${k[i] ?? null}::text`), sql` AND `)})`;
  return sql` AND (${sql.join(keys.map(one), sql` OR `)})`;
}

/**
 * The non-empty histogram cells of all rollup pieces as (t, d0, d1, d2, cell, c) rows: the
 * pieces' rows side by side (UNION ALL), their arrays summed cell by cell per (t, group) by one
 * aggregate, then unnested. One aggregate for every rollup piece instead of one per piece: the
 * HIST_BUCKETS + 2 sums are planned once (planning them per piece was a third of the
 * statement's time: 5.6 → 3.7 ms for `performance(last 24h, groupBy: [MODEL])` at 300k traces).
 */
function rollupCellsSelect(q: Omit<StatsQuery, 'piece'>, pieces: readonly SourcePiece[]): RawBuilder<unknown> {
  return sql`SELECT g.t, g.d0, g.d1, g.d2, (u.i - 1)::int AS cell, u.c::float8 AS c
        FROM (SELECT t, d0, d1, d2, ${HIST_CELL_SUMS} AS h FROM (${unionAll(pieces.map((piece) => rollupHistSelect({ ...q, piece })))}) r GROUP BY 1, 2, 3, 4) g
        CROSS JOIN LATERAL unnest(g.h) WITH ORDINALITY AS u(c, i)
       WHERE u.c > 0`;
}

/** Every piece's cells: each raw piece one branch, all rollup pieces one (rollupCellsSelect). */
function cellsSelects(q: Omit<StatsQuery, 'piece'>, pieces: readonly SourcePiece[]): RawBuilder<unknown>[] {
  const rollups = pieces.filter((p) => p.source !== 'traces');
  const raw = pieces.filter((p) => p.source === 'traces').map((piece) => rawCellsSelect({ ...q, piece }));
  return rollups.length ? [...raw, rollupCellsSelect(q, rollups)] : raw;
}

/**
 * The rollup rows' histograms summed cell by cell per (t, group) before they are unnested:
 * `ARRAY[sum(latency_hist[1]), …]` over the HIST_BUCKETS + 2 cells (width_bucket's 0 and
 * HIST_BUCKETS + 1 included). Unnesting every rollup row's whole array and filtering out its
 * zeros cost more than the sums: for `performance(last 24h, groupBy: [MODEL])` at 300k traces
 * the hourly piece took 13 ms that way and 6 ms this way, and hands 360 rows instead of 4,124
 * to the GROUPING SETS above.
 */
const HIST_CELL_SUMS = sql.raw(`ARRAY[${Array.from({ length: HIST_BUCKETS + 2 }, (_, i) => `sum(latency_hist[${i + 1}])`).join(', ')}]`);

/**
 * Non-empty latency histogram cells, summed in SQL for each level asked (GROUPING SETS), so
 * the gateway adds each cell once into one accumulator instead of fanning every
 * (bucket, group, cell) row out to four. The raw pieces and the rollup pieces' summed cells
 * are branches of one UNION ALL under the one GROUPING SETS, so a cell that several pieces
 * share arrives once, summed.
 * Cell numbering as width_bucket().
 */
export async function countLatencyCellsPlanned(
  db: Kysely<Database>,
  q: Omit<StatsQuery, 'piece'>,
  pieces: readonly SourcePiece[],
  levels: PercentileLevels = ALL_LEVELS,
): Promise<LevelCellRow[]> {
  const time = q.interval !== null;
  const group = q.dims.length > 0;
  const sets: string[] = [];
  if (levels.total) sets.push('(cell)');
  if (group && levels.group) sets.push('(d0, d1, d2, cell)');
  if (time && levels.series) sets.push('(t, cell)');
  if (time && group && levels.groupSeries) sets.push('(t, d0, d1, d2, cell)');
  if (!sets.length || !pieces.length) return [];
  const byT = sets.some((x) => x.startsWith('(t,'));
  const byD = sets.some((x) => x.includes('d0'));
  // The cells of each level summed (GROUPING SETS), then each level's (t, group) packed into one row.
  const { rows } = await sql<LevelCellRow>`
    SELECT t, d0, d1, d2, by_time, by_group, string_agg(cell::text || ':' || c::text, ',' ORDER BY cell) AS cells
      FROM (SELECT ${sql.raw(byT ? 't' : 'NULL::timestamptz AS t')}, ${sql.raw(byD ? 'd0, d1, d2' : 'NULL::text AS d0, NULL::text AS d1, NULL::text AS d2')},
                   cell, sum(c)::bigint AS c,
                   ${sql.raw(byT ? 'GROUPING(t)::int' : '1')} AS by_time, ${sql.raw(byD ? 'GROUPING(d0, d1, d2)::int' : '1')} AS by_group
              FROM (${unionAll(cellsSelects(q, pieces))}) x
             GROUP BY GROUPING SETS (${sql.raw(sets.join(', '))})) l
     GROUP BY t, d0, d1, d2, by_time, by_group /* countLatencyCells:${sourcesTag(pieces)} */`.execute(db);
  return rows;
}

/** The histogram cells of one source piece. */
export function countLatencyCells(db: Kysely<Database>, q: StatsQuery, levels: PercentileLevels = ALL_LEVELS): Promise<LevelCellRow[]> {
  return countLatencyCellsPlanned(db, q, [q.piece], levels);
}

export interface ExactPercentileRow {
  t: Date | null;
  d0: string | null;
  d1: string | null;
  d2: string | null;
  by_time: number;
  by_group: number;
  p: number[];
}

export const EXACT_PERCENTILES = [0.5, 0.9, 0.95, 0.99] as const;

/**
 * percentile_disc over the raw rows for the levels asked (total, groups, series, group series):
 * each level is one grouping set, and each set sorts the range's rows once more, so levels
 * whose percentiles are not selected are left out.
 */
export async function findExactLatencyPercentiles(
  db: Kysely<Database>,
  q: Omit<StatsQuery, 'piece'> & { from: Date; to: Date; levels: PercentileLevels },
): Promise<ExactPercentileRow[]> {
  const piece: SourcePiece = { source: 'traces', from: q.from, to: q.to };
  const [d0, d1, d2] = dimExprs(q.dims, false);
  const byTime = q.interval !== null;
  const byGroup = q.dims.length > 0;
  const sets: string[] = [];
  if (q.levels.total) sets.push('()');
  if (byGroup && q.levels.group) sets.push('(d0, d1, d2)');
  if (byTime && q.levels.series) sets.push('(t)');
  if (byTime && byGroup && q.levels.groupSeries) sets.push('(t, d0, d1, d2)');
  if (!sets.length) return [];
  const time = sets.some((x) => x.startsWith('(t'));
  const group = sets.some((x) => x.includes('d0'));
  const { rows } = await sql<ExactPercentileRow>`
    SELECT ${sql.raw(time ? 't' : 'NULL::timestamptz AS t')}, ${sql.raw(group ? 'd0, d1, d2' : 'NULL::text AS d0, NULL::text AS d1, NULL::text AS d2')}, ${sql.raw(time ? 'GROUPING(t)::int' : '1')} AS by_time,
           ${sql.raw(group ? 'GROUPING(d0, d1, d2)::int' : '1')} AS by_group,
           percentile_disc(ARRAY[${sql.raw(EXACT_PERCENTILES.join(', '))}]::float8[]) WITHIN GROUP (ORDER BY duration_ms) AS p
      FROM (SELECT ${timeExpr(q.interval, 'ts', q.timeZone)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2, duration_ms
              FROM traces WHERE ${whereRaw({ ...q, piece })}) s
     GROUP BY GROUPING SETS (${sql.raw(sets.join(', '))}) /* findExactLatencyPercentiles */`.execute(db);
  return rows;
}

// Conditions are built from terms (src/query/tenant-scope.ts) with their values bound; only
// whitelisted identifiers are spliced as raw SQL.
function whereRaw(q: StatsQuery): RawBuilder {
  return traceConditionsSql(q.scope, rawFilter(q));
}

function whereRollup(q: StatsQuery): RawBuilder {
  return rollupConditions(q);
}
