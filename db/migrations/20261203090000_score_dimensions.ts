import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * Scores carry their trace's time and dimensions (project is already there), so that score
 * rollups and score queries never join the traces table. Existing rows are backfilled in one
 * set-based UPDATE; a trigger fills the columns for any writer that leaves them out (a score
 * whose trace is not there gets its own time and no model: it is not counted, as before when
 * the join found no trace). In TimescaleDB modes scores become a hypertable on the trace's
 * time, which the continuous aggregates over scores need; there a writer must give trace_ts
 * (rows are routed to chunks before triggers run), the trigger still fills the dimensions.
 */
export function scoreDimensions(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await sql`ALTER TABLE scores
          ADD COLUMN IF NOT EXISTS trace_ts timestamptz,
          ADD COLUMN IF NOT EXISTS provider text,
          ADD COLUMN IF NOT EXISTS model text,
          ADD COLUMN IF NOT EXISTS environment text`.execute(db);
      await sql`UPDATE scores s
           SET trace_ts = t.ts, project_id = t.project_id, provider = t.provider, model = t.model, environment = t.environment
          FROM traces t
         WHERE t.id = s.trace_id AND t.org_id = s.org_id AND s.trace_ts IS NULL`.execute(db);
      await sql`UPDATE scores SET trace_ts = ts WHERE trace_ts IS NULL`.execute(db);
      await sql`ALTER TABLE scores ALTER COLUMN trace_ts SET NOT NULL`.execute(db);

      await sql`CREATE OR REPLACE FUNCTION scores_fill_trace_dimensions() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE t record;
        BEGIN
          IF NEW.trace_ts IS NULL OR NEW.model IS NULL THEN
            SELECT tr.ts, tr.project_id, tr.provider, tr.model, tr.environment INTO t
              FROM traces tr WHERE tr.id = NEW.trace_id AND tr.org_id = NEW.org_id
             ORDER BY tr.ts LIMIT 1;
            IF FOUND THEN
              NEW.trace_ts := t.ts; NEW.project_id := t.project_id; NEW.provider := t.provider;
              NEW.model := t.model; NEW.environment := t.environment;
            ELSIF NEW.trace_ts IS NULL THEN
              NEW.trace_ts := NEW.ts;
            END IF;
          END IF;
          RETURN NEW;
        END $$`.execute(db);
      await sql`DROP TRIGGER IF EXISTS scores_fill_trace_dimensions ON scores`.execute(db);
      await sql`CREATE TRIGGER scores_fill_trace_dimensions BEFORE INSERT ON scores
          FOR EACH ROW EXECUTE FUNCTION scores_fill_trace_dimensions()`.execute(db);

      if (opts.timescale) {
        // A hypertable's unique indexes must contain its time column.
        await sql`ALTER TABLE scores DROP CONSTRAINT IF EXISTS scores_pkey`.execute(db);
        await sql`CREATE UNIQUE INDEX IF NOT EXISTS scores_id_trace_ts_uq ON scores (id, trace_ts)`.execute(db);
        await sql`SELECT create_hypertable('scores', 'trace_ts', chunk_time_interval => interval '1 day',
            migrate_data => true, if_not_exists => true)`.execute(db);
      }
      // Raw score reads for the edges of a range (and the refresh) go by org and trace time.
      await sql`CREATE INDEX IF NOT EXISTS scores_org_trace_ts_idx ON scores (org_id, trace_ts)`.execute(db);
    },

    async down(db: Kysely<any>): Promise<void> {
      await sql`DROP TRIGGER IF EXISTS scores_fill_trace_dimensions ON scores`.execute(db);
      await sql`DROP FUNCTION IF EXISTS scores_fill_trace_dimensions()`.execute(db);
      await sql`DROP INDEX IF EXISTS scores_org_trace_ts_idx`.execute(db);
      if (opts.timescale) {
        // Back to a plain table: copy out of the hypertable.
        await sql`CREATE TABLE scores_plain (LIKE scores INCLUDING DEFAULTS)`.execute(db);
        await sql`INSERT INTO scores_plain SELECT * FROM scores`.execute(db);
        await sql`DROP TABLE scores CASCADE`.execute(db);
        await sql`ALTER TABLE scores_plain RENAME TO scores`.execute(db);
        await sql`ALTER TABLE scores ADD PRIMARY KEY (id)`.execute(db);
        await sql`CREATE INDEX IF NOT EXISTS scores_trace_idx ON scores (trace_id)`.execute(db);
        await sql`CREATE INDEX IF NOT EXISTS scores_org_ts_idx ON scores (org_id, ts DESC)`.execute(db);
      }
      await sql`ALTER TABLE scores DROP COLUMN IF EXISTS trace_ts, DROP COLUMN IF EXISTS provider,
          DROP COLUMN IF EXISTS model, DROP COLUMN IF EXISTS environment`.execute(db);
    },
  };
}
