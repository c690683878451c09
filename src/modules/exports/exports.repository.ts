import { sql, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database, ExportJobsTable } from '../../db/schema';
import { asMaintenance } from '../../db/maintenance-scope';
import { traceConditions, type TraceFilter } from '../../query/trace-filter';

export type ExportJobRow = Selectable<ExportJobsTable>;
export type ExportStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
export const UNFINISHED: ExportStatus[] = ['PENDING', 'RUNNING'];

/** The attempt a worker holds: it may write only while both still match (fencing). */
export interface ExportLease {
  readonly id: string;
  readonly bossJobId: string;
  readonly attempt: number;
}

export async function insertExportJob(
  db: Kysely<Database>,
  row: {
    orgId: string;
    requestedBy: string;
    format: string;
    compression: string;
    columns: string[];
    filter: TraceFilter;
    scopeProjectIds: readonly string[] | null;
    windowFrom: Date;
    windowTo: Date;
    rowsTotal: number;
    bossJobId: string;
  },
): Promise<ExportJobRow> {
  return db
    .insertInto('export_jobs')
    .values({
      org_id: row.orgId,
      requested_by: row.requestedBy,
      format: row.format,
      compression: row.compression,
      columns: row.columns,
      filter: JSON.stringify(row.filter),
      scope_project_ids: row.scopeProjectIds ? [...row.scopeProjectIds] : null,
      window_from: row.windowFrom,
      window_to: row.windowTo,
      rows_total: row.rowsTotal,
      boss_job_id: row.bossJobId,
      status: 'PENDING',
    })
    .returningAll()
    .modifyEnd(sql`/* insertExportJob */`)
    .executeTakeFirstOrThrow();
}

/** A job of the org, visible to the scope: a project-scoped caller sees only jobs within its projects. */
export async function findExportJob(db: Kysely<Database>, scope: Scope, id: string): Promise<ExportJobRow | undefined> {
  return db
    .selectFrom('export_jobs')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('id', '=', id)
    .where(withinScope(scope))
    .modifyEnd(sql`/* findExportJob */`)
    .executeTakeFirst();
}

function withinScope(scope: Scope) {
  return scope.projectIds
    ? sql<SqlBool>`(scope_project_ids IS NOT NULL AND scope_project_ids <@ ${sql.val([...scope.projectIds])}::text[])`
    : sql<SqlBool>`true`;
}

export async function listExportJobs(
  db: Kysely<Database>,
  scope: Scope,
  q: { status?: ExportStatus; limit: number; after: { createdAt: string; id: string } | null },
): Promise<(ExportJobRow & { created_key: string })[]> {
  let query = db
    .selectFrom('export_jobs')
    .selectAll()
    .select(sql<string>`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('created_key'))
    .where('org_id', '=', scope.orgId)
    .where(withinScope(scope));
  if (q.status) query = query.where('status', '=', q.status);
  if (q.after) query = query.where(sql<SqlBool>`(created_at, id) < (${q.after.createdAt}::timestamptz, ${q.after.id}::uuid)`);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).modifyEnd(sql`/* listExportJobs */`).execute();
}

/** Serialises exportTraces of one org (the concurrency limit is checked then inserted). */
export async function lockOrgExports(db: Kysely<Database>, orgId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`export_jobs:${orgId}`})) /* lockOrgExports */`.execute(db);
}

export async function countUnfinishedExportJobs(db: Kysely<Database>, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('export_jobs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .where('status', 'in', UNFINISHED)
    .modifyEnd(sql`/* countUnfinishedExportJobs */`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Matching rows, counting at most `limit` (a filter over a huge range stops early). */
export async function countTracesUpTo(db: Kysely<Database>, scope: Scope, filter: TraceFilter, limit: number): Promise<number> {
  const inner = db
    .selectFrom('traces')
    .select(sql`1`.as('one'))
    .where((eb) => traceConditions(eb, scope, filter))
    .limit(limit);
  const row = await db
    .selectFrom(inner.as('matching'))
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .modifyEnd(sql`/* countTracesUpTo */`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findOrgProjects(db: Kysely<Database>, orgId: string, ids: readonly string[]): Promise<string[]> {
  const rows = await db.selectFrom('projects').select('id').where('org_id', '=', orgId).where('id', 'in', [...ids]).modifyEnd(sql`/* findOrgProjects */`).execute();
  return rows.map((r) => r.id);
}

/** A worker takes the job for this pg-boss job: a new attempt number, progress reset. */
export async function claimExportJob(db: Kysely<Database>, id: string, bossJobId: string): Promise<ExportJobRow | undefined> {
  return db
    .updateTable('export_jobs')
    .set({
      status: 'RUNNING',
      started_at: sql`COALESCE(started_at, now())`,
      heartbeat_at: sql`now()`,
      attempts: sql`attempts + 1`,
      rows_written: 0,
      error: null,
    })
    .where('id', '=', id)
    .where('boss_job_id', '=', bossJobId)
    .where('status', 'in', UNFINISHED)
    .returningAll()
    .modifyEnd(sql`/* claimExportJob */`)
    .executeTakeFirst();
}

const leased = (lease: ExportLease) => sql<SqlBool>`id = ${lease.id} AND boss_job_id = ${lease.bossJobId} AND attempts = ${lease.attempt} AND status = 'RUNNING'`;

/** Progress and heartbeat; false when the lease is gone (cancelled, or restarted elsewhere). */
export async function reportExportProgress(db: Kysely<Database>, lease: ExportLease, rowsWritten?: number): Promise<boolean> {
  const r = await db
    .updateTable('export_jobs')
    .set({ heartbeat_at: sql`now()`, ...(rowsWritten === undefined ? {} : { rows_written: rowsWritten }) })
    .where(leased(lease))
    .modifyEnd(sql`/* reportExportProgress */`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Publishes the finished file: only the current attempt of a still-running job can. */
export async function completeExportJob(
  db: Kysely<Database>,
  lease: ExportLease,
  done: { rows: number; bytes: number; fileKey: string; location: string; ttlMs: number },
): Promise<boolean> {
  const r = await db
    .updateTable('export_jobs')
    .set({
      status: 'SUCCEEDED',
      row_count: done.rows,
      rows_written: done.rows,
      bytes: done.bytes,
      file_key: done.fileKey,
      location: done.location,
      finished_at: sql`now()`,
      heartbeat_at: null,
      expires_at: sql`now() + ${`${done.ttlMs} milliseconds`}::interval`,
    })
    .where(leased(lease))
    .modifyEnd(sql`/* completeExportJob */`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** A failed attempt: back to PENDING while retries remain, FAILED after the last. */
export async function failExportAttempt(db: Kysely<Database>, lease: ExportLease, error: string, final: boolean): Promise<boolean> {
  const r = await db
    .updateTable('export_jobs')
    .set(final ? { status: 'FAILED', error, finished_at: sql`now()`, heartbeat_at: null } : { status: 'PENDING', error, heartbeat_at: null })
    .where(leased(lease))
    .modifyEnd(sql`/* failExportAttempt */`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function cancelExportJob(db: Kysely<Database>, scope: Scope, id: string): Promise<ExportJobRow | undefined> {
  return db
    .updateTable('export_jobs')
    .set({ status: 'CANCELLED', finished_at: sql`now()`, heartbeat_at: null })
    .where('org_id', '=', scope.orgId)
    .where('id', '=', id)
    .where('status', 'in', UNFINISHED)
    .where(withinScope(scope))
    .returningAll()
    .modifyEnd(sql`/* cancelExportJob */`)
    .executeTakeFirst();
}

/**
 * RUNNING jobs whose worker stopped reporting (a killed gateway): each gets a new pg-boss job
 * id, atomically, so exactly one sweeper restarts it and the old worker, were it still alive,
 * is fenced out. Jobs past their last attempt fail instead.
 */
export async function takeStalledExportJobs(
  db: Kysely<Database>,
  q: { stallMs: number; maxAttempts: number; limit: number },
): Promise<{ id: string; old_boss_job_id: string | null; boss_job_id: string | null; status: string }[]> {
  const { rows } = await sql<{ id: string; old_boss_job_id: string | null; boss_job_id: string | null; status: string }>`
    WITH stalled AS (
      SELECT id, boss_job_id FROM export_jobs
      WHERE status = 'RUNNING' AND heartbeat_at < now() - ${`${q.stallMs} milliseconds`}::interval
      ORDER BY heartbeat_at LIMIT ${q.limit}
      FOR UPDATE SKIP LOCKED)
    UPDATE export_jobs e SET
      status = CASE WHEN e.attempts >= ${q.maxAttempts} THEN 'FAILED' ELSE 'PENDING' END,
      error = 'the worker running this export stopped reporting (gateway restarted?)',
      finished_at = CASE WHEN e.attempts >= ${q.maxAttempts} THEN now() ELSE NULL END,
      boss_job_id = CASE WHEN e.attempts >= ${q.maxAttempts} THEN e.boss_job_id ELSE gen_random_uuid() END,
      heartbeat_at = NULL
    FROM stalled WHERE e.id = stalled.id
    RETURNING e.id, stalled.boss_job_id AS old_boss_job_id, e.boss_job_id, e.status /* takeStalledExportJobs */`.execute(db);
  return rows;
}

/** Finished files past their lifetime, oldest first. */
export async function findExpiredExportJobs(db: Kysely<Database>, limit: number): Promise<ExportJobRow[]> {
  return db
    .selectFrom('export_jobs')
    .selectAll()
    .where('status', '=', 'SUCCEEDED')
    .where('expires_at', '<', sql<Date>`now()`)
    .orderBy('expires_at')
    .limit(limit)
    .modifyEnd(sql`/* findExpiredExportJobs */`)
    .execute();
}

export async function markExportExpired(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable('export_jobs').set({ status: 'EXPIRED', file_key: null }).where('id', '=', id).where('status', '=', 'SUCCEEDED').modifyEnd(sql`/* markExportExpired */`).execute();
}

export async function countExportJobsByStatus(db: Kysely<Database>): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('export_jobs')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', 'in', UNFINISHED)
    .groupBy('status')
    .modifyEnd(sql`/* countExportJobsByStatus */`)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** A secret shared by every instance, created by the first one that asks. */
export async function sharedSecret(db: Kysely<Database>, name: string, candidate: string): Promise<string> {
  // Start-up work of the gateway's own, not a request's: not logged as a slow query.
  return asMaintenance('export signing secret', () => readOrCreateSecret(db, name, candidate));
}

async function readOrCreateSecret(db: Kysely<Database>, name: string, candidate: string): Promise<string> {
  await db.insertInto('gateway_secrets').values({ name, value: candidate }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('gateway_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
