import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * Export jobs as the queue runs them (pg-boss keeps its own tables in the `pgboss` schema, which
 * it installs itself). What the job exports is fixed here at creation: the resolved window, the
 * columns, the viewer's project scope and whether content may be read, so a retry on another
 * instance writes exactly the same file. `boss_job_id` is the pg-boss job of the current attempt:
 * a worker writes progress and publishes only while it is still the one named there (fencing).
 */
export function exportJobsQueue(_opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await sql`ALTER TABLE export_jobs
        ADD COLUMN IF NOT EXISTS columns text[] NOT NULL DEFAULT '{}',
        ADD COLUMN IF NOT EXISTS compression text NOT NULL DEFAULT 'NONE',
        ADD COLUMN IF NOT EXISTS scope_project_ids text[],
        ADD COLUMN IF NOT EXISTS window_from timestamptz,
        ADD COLUMN IF NOT EXISTS window_to timestamptz,
        ADD COLUMN IF NOT EXISTS rows_total bigint,
        ADD COLUMN IF NOT EXISTS rows_written bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS bytes bigint,
        ADD COLUMN IF NOT EXISTS file_key text,
        ADD COLUMN IF NOT EXISTS started_at timestamptz,
        ADD COLUMN IF NOT EXISTS heartbeat_at timestamptz,
        ADD COLUMN IF NOT EXISTS expires_at timestamptz,
        ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS boss_job_id uuid`.execute(db);
      await sql`ALTER TABLE export_jobs DROP CONSTRAINT IF EXISTS export_jobs_status_check`.execute(db);
      await sql`ALTER TABLE export_jobs ADD CONSTRAINT export_jobs_status_check
        CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'))`.execute(db);
      // The per-org concurrency limit and the stalled-worker sweep read unfinished jobs only.
      await sql`CREATE INDEX IF NOT EXISTS export_jobs_active_idx ON export_jobs (org_id) WHERE status IN ('PENDING', 'RUNNING')`.execute(db);
      // exportJobs(first, after, status): newest first, keyset on (created_at, id).
      await sql`CREATE INDEX IF NOT EXISTS export_jobs_org_created_id_idx ON export_jobs (org_id, created_at DESC, id DESC)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS export_jobs_expires_idx ON export_jobs (expires_at) WHERE status = 'SUCCEEDED'`.execute(db);
      // Secrets the instances of one deployment share (the download-URL signing key).
      await sql`CREATE TABLE IF NOT EXISTS gateway_secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      await sql`DROP TABLE IF EXISTS gateway_secrets`.execute(db);
      await sql`DROP INDEX IF EXISTS export_jobs_expires_idx`.execute(db);
      await sql`DROP INDEX IF EXISTS export_jobs_org_created_id_idx`.execute(db);
      await sql`DROP INDEX IF EXISTS export_jobs_active_idx`.execute(db);
      await sql`ALTER TABLE export_jobs DROP CONSTRAINT IF EXISTS export_jobs_status_check`.execute(db);
      await sql`ALTER TABLE export_jobs
        DROP COLUMN IF EXISTS columns, DROP COLUMN IF EXISTS compression, DROP COLUMN IF EXISTS scope_project_ids,
        DROP COLUMN IF EXISTS window_from, DROP COLUMN IF EXISTS window_to, DROP COLUMN IF EXISTS rows_total,
        DROP COLUMN IF EXISTS rows_written, DROP COLUMN IF EXISTS bytes, DROP COLUMN IF EXISTS file_key,
        DROP COLUMN IF EXISTS started_at, DROP COLUMN IF EXISTS heartbeat_at, DROP COLUMN IF EXISTS expires_at,
        DROP COLUMN IF EXISTS attempts, DROP COLUMN IF EXISTS boss_job_id`.execute(db);
    },
  };
}
