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
