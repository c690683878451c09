import { sql, type Kysely } from 'kysely';
import { FAMILY_ROLLUPS, ROLLUPS, type MigrationOptions } from './rollup-definitions';

/**
 * Day rollups materialize a day an hour after it ends instead of a day after (end offset 1 hour,
 * start offset and schedule unchanged): reports over days read the last complete day from the
 * day rollup, not 24 hourly rows more. TimescaleDB: each day-level continuous aggregate's refresh
 * policy is replaced. Plain PostgreSQL and embedded: the gateway's refresher reads the windows
 * from rollup-definitions.ts, so there is nothing to change in the database.
 */
// Only the rollups that exist when this migration runs: a family added later creates its day
// level with the 1-hour end offset already (LEVEL_WINDOWS).
const DAY_ROLLUPS = [...ROLLUPS, ...FAMILY_ROLLUPS.filter((r) => r.migration < '20261218090000')].filter((r) => r.bucket === '1 day');

async function setPolicies(db: Kysely<any>, endOffset: string): Promise<void> {
  for (const r of DAY_ROLLUPS) {
    await sql.raw(`SELECT remove_continuous_aggregate_policy('${r.name}', if_exists => true)`).execute(db);
    await sql
      .raw(
        `SELECT add_continuous_aggregate_policy('${r.name}',
           start_offset => INTERVAL '${r.startOffset}', end_offset => INTERVAL '${endOffset}',
           schedule_interval => INTERVAL '${r.schedule}', if_not_exists => true)`,
      )
      .execute(db);
  }
}

export function dayEndOffset(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (opts.timescale) await setPolicies(db, '1 hour');
    },
    async down(db: Kysely<any>): Promise<void> {
      if (opts.timescale) await setPolicies(db, '1 day');
    },
  };
}
