import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * Compression after 7 days and 90-day retention in TimescaleDB modes. Plain PostgreSQL has
 * neither: the gateway's maintenance job deletes expired rows in batches instead.
 */
export function storagePolicies(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (!opts.timescale) {
        // Batched retention deletes walk this index oldest-first.
        await sql`CREATE INDEX IF NOT EXISTS traces_ts_idx ON traces (ts)`.execute(db);
        return;
      }
      await sql`ALTER TABLE traces SET (
          timescaledb.compress,
          timescaledb.compress_segmentby = 'project_id, provider, model',
          timescaledb.compress_orderby = 'ts DESC')`.execute(db);
      await sql`SELECT add_compression_policy('traces', INTERVAL '7 days', if_not_exists => true)`.execute(db);
      await sql`SELECT add_retention_policy('traces', INTERVAL '90 days', if_not_exists => true)`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      if (!opts.timescale) {
        await sql`DROP INDEX IF EXISTS traces_ts_idx`.execute(db);
        return;
      }
      await sql`SELECT remove_retention_policy('traces', if_exists => true)`.execute(db);
      await sql`SELECT remove_compression_policy('traces', if_exists => true)`.execute(db);
      // Chunks must be decompressed before compression can be switched off.
      await sql`SELECT decompress_chunk(c, true) FROM show_chunks('traces') c`.execute(db);
      await sql`ALTER TABLE traces SET (timescaledb.compress = false)`.execute(db);
    },
  };
}
