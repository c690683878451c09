/**
 * What a migration needs to know about the server it runs on. Decided once by the
 * migrator (db/migrate.ts) from the server itself: migrations never import application code.
 */
export interface MigrationOptions {
  /** TimescaleDB is installed or installable: hypertables, continuous aggregates, policies. */
  readonly timescale: boolean;
}

/**
 * Rollup names with their bucket widths and the refresh window (offsets) used in every mode.
 * A day bucket is materialized an hour after it ends (end offset 1 hour, migration
 * 20261218090000_day_end_offset; it was a day): until then a 7-day report read that whole day
 * from the hourly rollup as well, 24–48 hours of hourly rows instead of 0–24.
 */
export const ROLLUPS = [
  { name: 'traces_1min', bucket: '1 minute', startOffset: '3 hours', endOffset: '1 minute', schedule: '1 minute' },
  { name: 'traces_1hour', bucket: '1 hour', startOffset: '3 days', endOffset: '1 hour', schedule: '1 hour' },
  { name: 'traces_1day', bucket: '1 day', startOffset: '7 days', endOffset: '1 hour', schedule: '1 day' },
] as const;

/**
 * Log-scale latency histogram stored in every rollup row: width_bucket over ln(duration_ms)
 * from ln(1) to ln(HIST_MAX_MS) in HIST_BUCKETS buckets, plus under/overflow cells
 * (the layout of TimescaleDB's histogram(): HIST_BUCKETS + 2 counts).
 */
export const HIST_BUCKETS = 100;
export const HIST_MAX_MS = 600_000;

/**
 * The aggregate body shared by TimescaleDB's continuous aggregates and the plain-mode
 * refresh job, so that both modes compute exactly the same numbers.
 */
export function rollupSelectSql(bucket: string): string {
  return `
    SELECT time_bucket(INTERVAL '${bucket}', ts) AS bucket,
           org_id, project_id, provider, model, environment,
           count(*) AS request_count,
           count(*) FILTER (WHERE status_code >= 400) AS error_count,
           sum(duration_ms) AS duration_sum,
           min(duration_ms) AS duration_min,
           max(duration_ms) AS duration_max,
           sum(ttft_ms) AS ttft_sum,
           count(ttft_ms) AS ttft_count,
           min(ttft_ms) AS ttft_min,
           max(ttft_ms) AS ttft_max,
           sum(prompt_tokens)::bigint AS prompt_tokens_sum,
           sum(completion_tokens)::bigint AS completion_tokens_sum,
           sum(cached_tokens)::bigint AS cached_tokens_sum,
           sum(total_tokens)::bigint AS total_tokens_sum,
           min(total_tokens) AS total_tokens_min,
           max(total_tokens) AS total_tokens_max,
           sum(prompt_cost_usd) AS prompt_cost_sum,
           sum(completion_cost_usd) AS completion_cost_sum,
           sum(total_cost_usd) AS total_cost_sum,
           min(total_cost_usd) AS total_cost_min,
           max(total_cost_usd) AS total_cost_max,
           histogram(ln(greatest(duration_ms, 1)), 0, ln(${HIST_MAX_MS}), ${HIST_BUCKETS}) AS latency_hist
      FROM traces`;
}


/**
 * The rollups added after the trace rollups (issue 9). Each family is one aggregate body over
 * one source table, materialized at several bucket widths with the same refresh windows as the
 * trace rollups of that width. Key columns are what the gateway groups and filters by.
 */
export type FamilyMigration =
  | '20261203090100_family_rollups'
  | '20261216090000_project_score_values'
  | '20261217090000_project_score_values_week'
  | '20261219090000_model_rollups'
  | '20261220090000_project_score_rollups';

/**
 * Family bucket widths: the trace rollups' three, and weeks (Monday 00:00 UTC, time_bucket's
 * origin) for families whose day rows are many per range.
 */
export type FamilyBucket = (typeof ROLLUPS)[number]['bucket'] | '7 days';

/**
 * Refresh window and schedule of each width: the trace rollups' for theirs; a week bucket is
 * recomputed daily over the last 28 days (the window must hold at least two buckets in
 * TimescaleDB) and completes a day after its week ends, like a day bucket.
 */
export const LEVEL_WINDOWS: Record<FamilyBucket, { startOffset: string; endOffset: string; schedule: string }> = {
  ...(Object.fromEntries(ROLLUPS.map((r) => [r.bucket, { startOffset: r.startOffset, endOffset: r.endOffset, schedule: r.schedule }])) as Record<
    (typeof ROLLUPS)[number]['bucket'],
    { startOffset: string; endOffset: string; schedule: string }
  >),
  '7 days': { startOffset: '28 days', endOffset: '1 day', schedule: '1 day' },
};

export interface RollupFamilyDef {
  readonly family:
    | 'scores'
    | 'score_values'
    | 'project_score_values'
    | 'project_scores'
    | 'scored_traces'
    | 'project_scored_traces'
    | 'traces_user'
    | 'traces_model';
  /** The migration that creates the family's rollups (a family added later gets a migration of its own). */
  readonly migration: FamilyMigration;
  readonly source: 'scores' | 'traces';
  /** The time column the buckets are cut from (a score's bucket is its trace's time). */
  readonly time: 'trace_ts' | 'ts';
  readonly keys: readonly string[];
  readonly levels: readonly FamilyBucket[];
  /** Levels added to the family after it was created, each by its own migration. */
  readonly levelMigrations?: Partial<Record<FamilyBucket, FamilyMigration>>;
  /** The aggregate columns (after bucket and keys) and the WHERE clause, if any. */
  readonly aggregates: string;
  readonly where: string | null;
  /**
   * The index the reads go by, when the (org, bucket DESC) one is not enough: column list and
   * INCLUDE, so that a read is an index-only scan of the rows it sums.
   */
  readonly readIndex?: string;
}

const TRACE_DIMS = ['org_id', 'project_id', 'provider', 'model', 'environment'] as const;

/** The score sums of the scores families (by trace dimensions, by project), and their scored-trace counts. */
const SCORE_SUMS = `count(*) AS score_count, count(value) AS value_count, sum(value) AS value_sum,
           min(value) AS value_min, max(value) AS value_max`;
const SCORED_TRACE_COUNTS = `count(DISTINCT trace_id) AS scored_traces,
           count(DISTINCT trace_id) FILTER (WHERE source = 'human') AS human_traces`;

export const ROLLUP_FAMILIES: readonly RollupFamilyDef[] = [
  {
    // Per score name, source and label: counts and value sums; labels in the key give label counts.
    family: 'scores',
    migration: '20261203090100_family_rollups',
    source: 'scores',
    time: 'trace_ts',
    keys: [...TRACE_DIMS, 'name', 'source', 'label'],
    levels: ['1 minute', '1 hour', '1 day'],
    aggregates: SCORE_SUMS,
    where: 'model IS NOT NULL',
  },
  {
    // Exact value counts: a report's 10 bins span the min..max of the whole range, so they
    // cannot be added up from per-bucket bins; summing value counts gives them exactly.
    family: 'score_values',
    migration: '20261203090100_family_rollups',
    source: 'scores',
    time: 'trace_ts',
    keys: [...TRACE_DIMS, 'name', 'value'],
    levels: ['1 minute', '1 hour', '1 day'],
    aggregates: 'count(*) AS value_count',
    where: 'model IS NOT NULL AND value IS NOT NULL',
  },
  {
    // The same exact value counts keyed by project only: a quality report without a provider,
    // model or environment filter (the dashboard's) sums one row per (bucket, project, name,
    // value) instead of one per model and environment as well. Hours and days: the edges of a
    // range are a few hours of raw scores at most.
    family: 'project_score_values',
    migration: '20261216090000_project_score_values',
    source: 'scores',
    time: 'trace_ts',
    keys: ['org_id', 'project_id', 'name', 'value'],
    // Weeks: a 90-day range of one org is ~79k week rows instead of ~300k day rows.
    levels: ['1 hour', '1 day', '7 days'],
    levelMigrations: { '7 days': '20261217090000_project_score_values_week' },
    aggregates: 'count(*) AS value_count',
    where: 'model IS NOT NULL AND value IS NOT NULL',
    readIndex: '(org_id, bucket, project_id, name, value) INCLUDE (value_count)',
  },
  {
    // A trace lies in exactly one (bucket, dimensions) cell, so distinct counts per cell add up.
    family: 'scored_traces',
    migration: '20261203090100_family_rollups',
    source: 'scores',
    time: 'trace_ts',
    keys: [...TRACE_DIMS],
    levels: ['1 minute', '1 hour', '1 day'],
    aggregates: SCORED_TRACE_COUNTS,
    where: 'model IS NOT NULL',
  },
  {
    // Per user (and project): groupBy USER and topSpenders(by: USER) over hours and days.
    family: 'traces_user',
    migration: '20261203090100_family_rollups',
    source: 'traces',
    time: 'ts',
    keys: ['org_id', 'project_id', 'user_id'],
    levels: ['1 hour', '1 day'],
    aggregates: '',
    where: null,
  },
  {
    // The score sums keyed by project only: a quality report that neither filters nor groups by
    // provider, model or environment (the dashboard's) sums one row per (bucket, project, name,
    // source, label) instead of one per provider, model and environment as well.
    family: 'project_scores',
    migration: '20261220090000_project_score_rollups',
    source: 'scores',
    time: 'trace_ts',
    keys: ['org_id', 'project_id', 'name', 'source', 'label'],
    levels: ['1 minute', '1 hour', '1 day'],
    aggregates: SCORE_SUMS,
    where: 'model IS NOT NULL',
  },
  {
    // Scored traces keyed by project only (a trace lies in one project and one bucket, so
    // distinct counts per cell still add up).
    family: 'project_scored_traces',
    migration: '20261220090000_project_score_rollups',
    source: 'scores',
    time: 'trace_ts',
    keys: ['org_id', 'project_id'],
    levels: ['1 minute', '1 hour', '1 day'],
    aggregates: SCORED_TRACE_COUNTS,
    where: 'model IS NOT NULL',
  },
  {
    // Per provider and model only (no project, no environment): what org-wide dashboards ask
    // (latency or spend by model or provider, model comparisons, totals) sums one row per
    // (bucket, provider, model) instead of one per project and environment as well — 2.6x
    // fewer rows at the seed's shape, and every row carries a 102-cell latency histogram.
    family: 'traces_model',
    migration: '20261219090000_model_rollups',
    source: 'traces',
    time: 'ts',
    keys: ['org_id', 'provider', 'model'],
    levels: ['1 minute', '1 hour', '1 day'],
    aggregates: '',
    where: null,
  },
];

/** The trace families' key columns in place of the trace rollups' (same aggregate columns). */
const TRACE_FAMILY_KEYS: Partial<Record<RollupFamilyDef['family'], string>> = {
  traces_user: 'org_id, project_id, user_id,',
  traces_model: 'org_id, provider, model,',
};

const LEVEL_SUFFIX: Record<FamilyBucket, string> = { '1 minute': '1min', '1 hour': '1hour', '1 day': '1day', '7 days': '1week' };

export interface FamilyRollup {
  readonly name: string;
  readonly def: RollupFamilyDef;
  /** The migration that creates this rollup (the family's, or the level's when added later). */
  readonly migration: FamilyMigration;
  readonly bucket: FamilyBucket;
  readonly startOffset: string;
  readonly endOffset: string;
  readonly schedule: string;
}

/** Every rollup of every family, finest first within a family. */
export const FAMILY_ROLLUPS: readonly FamilyRollup[] = ROLLUP_FAMILIES.flatMap((def) =>
  def.levels.map((bucket) => ({
    name: `${def.family}_${LEVEL_SUFFIX[bucket]}`,
    def,
    migration: def.levelMigrations?.[bucket] ?? def.migration,
    bucket,
    ...LEVEL_WINDOWS[bucket],
  })),
);

/** SELECT … FROM … [WHERE …] for one family rollup; the caller appends time bounds and GROUP BY. */
export function familySelectSql(r: FamilyRollup, extraWhere = ''): string {
  const d = r.def;
  const traceKeys = TRACE_FAMILY_KEYS[d.family];
  if (traceKeys) {
    // The trace rollups' columns under the family's own key (by user; by provider and model).
    const body = rollupSelectSql(r.bucket).replace('org_id, project_id, provider, model, environment,', traceKeys);
    return `${body} ${extraWhere ? `WHERE ${extraWhere}` : ''}`;
  }
  const conds = [d.where, extraWhere].filter(Boolean).join(' AND ');
  return `SELECT time_bucket(INTERVAL '${r.bucket}', ${d.time}) AS bucket, ${d.keys.join(', ')},
           ${d.aggregates}
      FROM ${d.source}${conds ? ` WHERE ${conds}` : ''}`;
}

export const familyGroupBy = (r: FamilyRollup) => `GROUP BY 1, ${r.def.keys.join(', ')}`;
