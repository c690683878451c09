import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * A span is identified by (org, trace id, span id) — the row id ingestion derives from them —
 * whatever its start time says. Until now uniqueness was (id, ts), so a span re-sent with a
 * different start time (a clock-corrected exporter, a collector that rewrites timestamps)
 * became a second row and was counted twice.
 *
 * - Plain PostgreSQL: a unique index on `id` alone replaces (id, ts) (it serves every
 *   lookup by id as well, so the old one would only cost writes). Rows already duplicated that
 *   way keep the earliest start (ties: the first stored) — the row the first export wrote.
 * - TimescaleDB (embedded mode included): a hypertable's unique indexes must contain `ts`, so (id, ts) stays and the
 *   insert statement skips ids already stored (NOT EXISTS, src/ingest/ingest.repository.ts).
 */
export function spanIdentity(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (opts.timescale) return;
      await sql`DELETE FROM traces t
                 USING (SELECT id, min(ts) AS ts FROM traces GROUP BY id HAVING count(*) > 1) d
                 WHERE t.id = d.id
                   AND (t.ts > d.ts OR t.ctid <> (SELECT min(x.ctid) FROM traces x WHERE x.id = d.id AND x.ts = d.ts))`.execute(db);
      await sql`CREATE UNIQUE INDEX IF NOT EXISTS traces_id_uq ON traces (id)`.execute(db);
      await sql`DROP INDEX IF EXISTS traces_id_ts_uq`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      if (opts.timescale) return;
      await sql`CREATE UNIQUE INDEX IF NOT EXISTS traces_id_ts_uq ON traces (id, ts)`.execute(db);
      await sql`DROP INDEX IF EXISTS traces_id_uq`.execute(db);
    },
  };
}
