/**
 * What a migration needs to know about the server it runs on. Decided once by the
 * migrator (db/migrate.ts) from the server itself: migrations never import application code.
 */
export interface MigrationOptions {
  /** TimescaleDB is installed or installable: hypertables, continuous aggregates, policies. */
  readonly timescale: boolean;
}

/** Rollup names with their bucket widths and the refresh window (offsets) used in every mode. */
export const ROLLUPS = [
  { name: 'traces_1min', bucket: '1 minute', startOffset: '3 hours', endOffset: '1 minute', schedule: '1 minute' },
  { name: 'traces_1hour', bucket: '1 hour', startOffset: '3 days', endOffset: '1 hour', schedule: '1 hour' },
  { name: 'traces_1day', bucket: '1 day', startOffset: '7 days', endOffset: '1 day', schedule: '1 day' },
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

