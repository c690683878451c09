import { sql, type Kysely } from 'kysely';
import { ROLLUPS, rollupSelectSql, type MigrationOptions } from './rollup-definitions';

const GROUP_BY = 'GROUP BY 1, org_id, project_id, provider, model, environment';

export function rollups(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await sql`CREATE TABLE IF NOT EXISTS rollup_state (
        rollup text PRIMARY KEY,
        refreshed_to timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);

      if (!opts.timescale) {
        // Plain PostgreSQL: TimescaleDB's time_bucket() and histogram() for fixed-width
        // buckets, with the same semantics, so that one SQL text serves both modes.
        await sql`CREATE OR REPLACE FUNCTION time_bucket(bucket_width interval, ts timestamptz)
          RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
          $$ SELECT date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') $$`.execute(db);
        await sql`CREATE OR REPLACE FUNCTION gateway_histogram_step(state integer[], v double precision, lo double precision, hi double precision, n integer)
          RETURNS integer[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
          DECLARE i integer;
          BEGIN
            IF state IS NULL THEN state := array_fill(0, ARRAY[n + 2]); END IF;
            IF v IS NULL THEN RETURN state; END IF;
            i := width_bucket(v, lo, hi, n) + 1;
            state[i] := state[i] + 1;
            RETURN state;
          END $$`.execute(db);
        await sql`DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'histogram' AND prokind = 'a') THEN
              CREATE AGGREGATE histogram(double precision, double precision, double precision, integer) (
                SFUNC = gateway_histogram_step, STYPE = integer[]);
            END IF;
          END $$`.execute(db);
      }

      for (const r of ROLLUPS) {
        if (opts.timescale) {
          await sql
            .raw(
              `CREATE MATERIALIZED VIEW IF NOT EXISTS ${r.name}
                 WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
                 ${rollupSelectSql(r.bucket)} ${GROUP_BY} WITH NO DATA`,
            )
            .execute(db);
          await sql
            .raw(
              `SELECT add_continuous_aggregate_policy('${r.name}',
                 start_offset => INTERVAL '${r.startOffset}', end_offset => INTERVAL '${r.endOffset}',
                 schedule_interval => INTERVAL '${r.schedule}', if_not_exists => true)`,
            )
            .execute(db);
        } else {
          await sql
            .raw(
              `CREATE TABLE IF NOT EXISTS ${r.name} AS ${rollupSelectSql(r.bucket)} ${GROUP_BY} WITH NO DATA`,
            )
            .execute(db);
          await sql
            .raw(
              `CREATE UNIQUE INDEX IF NOT EXISTS ${r.name}_pk
                 ON ${r.name} (bucket, org_id, project_id, provider, model, environment)`,
            )
            .execute(db);
        }
        await sql.raw(`CREATE INDEX IF NOT EXISTS ${r.name}_org_bucket_idx ON ${r.name} (org_id, bucket DESC)`).execute(db);
      }
    },

    async down(db: Kysely<any>): Promise<void> {
      for (const r of [...ROLLUPS].reverse()) {
        if (opts.timescale) {
          await sql.raw(`DROP MATERIALIZED VIEW IF EXISTS ${r.name} CASCADE`).execute(db);
        } else {
          await sql.raw(`DROP TABLE IF EXISTS ${r.name} CASCADE`).execute(db);
        }
      }
      if (!opts.timescale) {
        await sql`DROP AGGREGATE IF EXISTS histogram(double precision, double precision, double precision, integer)`.execute(db);
        await sql`DROP FUNCTION IF EXISTS gateway_histogram_step(integer[], double precision, double precision, double precision, integer)`.execute(db);
        await sql`DROP FUNCTION IF EXISTS time_bucket(interval, timestamptz)`.execute(db);
      }
      await sql`DROP TABLE IF EXISTS rollup_state`.execute(db);
    },
  };
}
