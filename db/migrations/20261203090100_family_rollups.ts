import { sql, type Kysely } from 'kysely';
import { FAMILY_ROLLUPS, familyGroupBy, familySelectSql, type FamilyMigration, type MigrationOptions } from './rollup-definitions';

/**
 * Score rollups (counts, sums, min/max and labels per score name and source; exact value
 * counts; scored traces) and per-user trace rollups: continuous aggregates with the trace
 * rollups' refresh windows in TimescaleDB, incremental tables refreshed by the gateway in
 * plain PostgreSQL. Created empty; the first refresh fills them.
 */
export function familyRollups(opts: MigrationOptions) {
  return familyRollupsOf('20261203090100_family_rollups', opts);
}

/** The rollups a migration adds (each family, and each level added later, names the migration that creates it). */
export function familyRollupsOf(migration: FamilyMigration, opts: MigrationOptions) {
  const rollups = FAMILY_ROLLUPS.filter((r) => r.migration === migration);
  return {
    async up(db: Kysely<any>): Promise<void> {
      const { rows } = await sql<{ v: number }>`SELECT current_setting('server_version_num')::int AS v`.execute(db);
      const nullsNotDistinct = (rows[0]?.v ?? 0) >= 150000;
      for (const r of rollups) {
        const body = `${familySelectSql(r)} ${familyGroupBy(r)}`;
        if (opts.timescale) {
          await sql
            .raw(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${r.name}
                    WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS ${body} WITH NO DATA`)
            .execute(db);
          await sql
            .raw(`SELECT add_continuous_aggregate_policy('${r.name}',
                    start_offset => INTERVAL '${r.startOffset}', end_offset => INTERVAL '${r.endOffset}',
                    schedule_interval => INTERVAL '${r.schedule}', if_not_exists => true)`)
            .execute(db);
        } else {
          await sql.raw(`CREATE TABLE IF NOT EXISTS ${r.name} AS ${body} WITH NO DATA`).execute(db);
          // Key columns may be NULL (a label, a user): one row per key all the same.
          if (nullsNotDistinct) {
            await sql
              .raw(`CREATE UNIQUE INDEX IF NOT EXISTS ${r.name}_pk ON ${r.name} (bucket, ${r.def.keys.join(', ')}) NULLS NOT DISTINCT`)
              .execute(db);
          }
        }
        await sql.raw(`CREATE INDEX IF NOT EXISTS ${r.name}_org_bucket_idx ON ${r.name} (org_id, bucket DESC)`).execute(db);
        if (r.def.readIndex) await sql.raw(`CREATE INDEX IF NOT EXISTS ${r.name}_read_idx ON ${r.name} ${r.def.readIndex}`).execute(db);
      }
    },

    async down(db: Kysely<any>): Promise<void> {
      for (const r of [...rollups].reverse()) {
        await sql.raw(opts.timescale ? `DROP MATERIALIZED VIEW IF EXISTS ${r.name} CASCADE` : `DROP TABLE IF EXISTS ${r.name} CASCADE`).execute(db);
      }
    },
  };
}
