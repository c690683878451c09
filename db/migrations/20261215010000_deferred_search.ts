import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * Plain PostgreSQL: the trigram search index leaves the write path (issue 15). Maintained row
 * by row on `traces` it cost ingestion 4.6–9.5× per row (bench/ingest-db-profile.ts); now:
 *
 * - `trace_search (id, v)`: the search values of each indexed row (`trace_search_values(…)`,
 *   migration 20261203130000_value_search) with the trigram index, filled in batches by the
 *   search indexer (src/db/search-indexer.ts), off the request path;
 * - `trace_search_pending (id)`: the rows not indexed yet (no index: a heap append per row). A
 *   statement trigger with a transition table enqueues every row any writer inserts (ingestion,
 *   the seeder's COPY, tests), in the inserting transaction;
 * - a search is `indexed part ∪ exact scan of the pending rows` (traces.repository.ts). The
 *   indexer moves rows from pending to `trace_search` in one transaction, so in every snapshot
 *   each row is in exactly one of the two: search stays exact, a row is found from its commit
 *   on. (A watermark over an insertion sequence would not be exact: sequence values are taken
 *   before commit, so a row could commit below a watermark already passed.)
 *
 * Rows deleted (retention) leave `trace_search` through a statement trigger; an update of a
 * row re-enqueues it. TimescaleDB modes (embedded included) keep the index on `traces`.
 */
export function deferredSearch(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (opts.timescale) return;
      const { rows } = await sql<{ available: boolean }>`
        SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS available`.execute(db);
      await sql`CREATE TABLE IF NOT EXISTS trace_search (id uuid PRIMARY KEY, v text NOT NULL)`.execute(db);
      await sql`CREATE TABLE IF NOT EXISTS trace_search_pending (id uuid NOT NULL)`.execute(db);
      await sql`INSERT INTO trace_search (id, v)
        SELECT id, trace_search_values(input, output, model, user_id, metadata) FROM traces
        ON CONFLICT (id) DO NOTHING`.execute(db);
      // Built once, sorted, after the copy (cheaper than row by row).
      if (rows[0]?.available) {
        await sql`CREATE INDEX IF NOT EXISTS trace_search_v_trgm_idx ON trace_search USING gin (v gin_trgm_ops)`.execute(db);
      }
      await sql`DROP INDEX IF EXISTS traces_search_values_trgm_idx`.execute(db);
      await sql`CREATE OR REPLACE FUNCTION trace_search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            DELETE FROM trace_search s USING old_rows o WHERE s.id = o.id;
          END IF;
          IF TG_OP <> 'DELETE' THEN
            INSERT INTO trace_search_pending (id) SELECT id FROM new_rows;
          END IF;
          RETURN NULL;
        END $$`.execute(db);
      await sql`DROP TRIGGER IF EXISTS traces_search_insert ON traces`.execute(db);
      await sql`DROP TRIGGER IF EXISTS traces_search_update ON traces`.execute(db);
      await sql`DROP TRIGGER IF EXISTS traces_search_delete ON traces`.execute(db);
      await sql`CREATE TRIGGER traces_search_insert AFTER INSERT ON traces
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trace_search_enqueue()`.execute(db);
      await sql`CREATE TRIGGER traces_search_update AFTER UPDATE ON traces
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trace_search_enqueue()`.execute(db);
      await sql`CREATE TRIGGER traces_search_delete AFTER DELETE ON traces
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION trace_search_enqueue()`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      if (opts.timescale) return;
      await sql`DROP TRIGGER IF EXISTS traces_search_insert ON traces`.execute(db);
      await sql`DROP TRIGGER IF EXISTS traces_search_update ON traces`.execute(db);
      await sql`DROP TRIGGER IF EXISTS traces_search_delete ON traces`.execute(db);
      await sql`DROP FUNCTION IF EXISTS trace_search_enqueue()`.execute(db);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'pg_trgm'`.execute(db);
      if (rows[0]?.n) {
        await sql`CREATE INDEX IF NOT EXISTS traces_search_values_trgm_idx ON traces
          USING gin (trace_search_values(input, output, model, user_id, metadata) gin_trgm_ops)`.execute(db);
      }
      await sql`DROP TABLE IF EXISTS trace_search_pending`.execute(db);
      await sql`DROP TABLE IF EXISTS trace_search`.execute(db);
    },
  };
}
