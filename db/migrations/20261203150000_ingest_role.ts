import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * The INGEST role (OTLP ingestion, src/ingest): keys that may send spans and read nothing.
 * Ingested rows need no index of their own: their id is derived from (org, trace id, span id)
 * and their ts is the span's start, so the existing unique (id, ts) index makes retries no-ops.
 */
export function ingestRole(_opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await sql`ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check`.execute(db);
      await sql`ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('ADMIN','DEVELOPER','VIEWER','BILLING','INGEST'))`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      // Keys of a role the old constraint does not know cannot stay.
      await sql`DELETE FROM api_keys WHERE role = 'INGEST'`.execute(db);
      await sql`ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check`.execute(db);
      await sql`ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('ADMIN','DEVELOPER','VIEWER','BILLING'))`.execute(db);
    },
  };
}
