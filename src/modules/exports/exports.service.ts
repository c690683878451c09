import { randomUUID } from 'node:crypto';
import type { Config } from '../../config';
import type { ServiceContext } from '../../context';
import type { Scope, Viewer } from '../../auth/viewer';
import { subjectOf } from '../../auth/viewer';
import { can } from '../../auth/permissions';
import { AppError, ErrorCode, badInput, forbidden, fromDatabaseError, notFound, serviceUnavailable } from '../../shared/errors';
import { parseRelativeDuration } from '../../shared/time-range';
import { exportJobsTotal } from '../../telemetry/metrics';
import { isUuid } from '../../shared/ids';
import { normalizeTraceFilter, type TraceFilterInput } from '../../query/trace-filter-input';
import { sql } from 'kysely';
import { allowedColumns, columnByName, isContentColumn } from './export-columns';
import type { ExportSystem } from './export-system';
import type { ExportFormat } from './export-writers';
import {
  cancelExportJob,
  countTracesUpTo,
  countUnfinishedExportJobs,
  findExportJob,
  findOrgProjects,
  insertExportJob,
  listExportJobs,
  lockOrgExports,
  type ExportJobRow,
  type ExportStatus,
} from './exports.repository';

/** What the export services read: config, database and (for writes) the export queue. */
export type ExportContext = ServiceContext<'config' | 'database' | 'exports'>;
type ExportDeps = ExportContext['services'];

const system = (deps: ExportDeps): ExportSystem => {
  if (!deps.exports) throw serviceUnavailable('The export queue is not running on this instance');
  return deps.exports;
};

/** Database failures become coded errors; nothing of the driver's text reaches the client. */
async function coded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromDatabaseError(err) ?? err;
  }
}

export function resolveColumns(requested: readonly string[] | null | undefined, viewer: Viewer): string[] {
  const mayReadContent = can(viewer.role, 'TRACE_CONTENT_READ');
  if (requested == null) return allowedColumns(mayReadContent);
  if (requested.length === 0) throw badInput('columns must not be empty; omit it for every column', { argument: 'columns' });
  const unknown = requested.filter((c) => !columnByName(c));
  if (unknown.length) {
    throw badInput(`Unknown export columns: ${unknown.slice(0, 10).join(', ')}`, { argument: 'columns', unknownColumns: unknown.slice(0, 10), allowed: allowedColumns(mayReadContent) });
  }
  const dupes = requested.filter((c, i) => requested.indexOf(c) !== i);
  if (dupes.length) throw badInput(`Repeated export columns: ${[...new Set(dupes)].join(', ')}`, { argument: 'columns' });
  const content = requested.filter(isContentColumn);
  if (content.length && !mayReadContent) throw forbidden(`Your role may not read trace content (${content.join(', ')})`);
  return [...requested];
}

/**
 * The snapshot window, fixed now: a relative range ends now (not quantized as dashboards are),
 * an open end is now, an open start is the retention horizon.
 */
export function snapshotWindow(input: TraceFilterInput | null | undefined, config: Config, now: Date) {
  const filter = normalizeTraceFilter(input, config, now);
  let from = filter.from ?? new Date(now.getTime() - config.database.retentionDays * 86_400_000);
  let to = filter.to && filter.to.getTime() < now.getTime() ? filter.to : now;
  if (input?.last != null) {
    to = now;
    from = new Date(now.getTime() - parseRelativeDuration(input.last));
  }
  if (from.getTime() >= to.getTime()) throw badInput('The export window is empty: `from` must be before now and before `to`');
  const { from: _f, to: _t, ...rest } = filter;
  return { filter: rest, from, to };
}

type ExportArgs = { filter?: TraceFilterInput | null; format: ExportFormat; columns?: readonly string[] | null; compression?: 'NONE' | 'GZIP' | null };

export async function createExport(ctx: ExportContext & { readonly viewer: Viewer }, args: ExportArgs): Promise<ExportJobRow> {
  const { services: deps, scope, viewer } = ctx;
  const exportsSystem = system(deps);
  const columns = resolveColumns(args.columns, viewer);
  const { filter, from, to } = snapshotWindow(args.filter, deps.config, new Date());
  if (filter.projectIds) await checkExportProjects(deps, scope, filter.projectIds);
  const rowsTotal = await countExportRows(deps, scope, { ...filter, from, to });
  const bossJobId = randomUUID();
  const row = await coded(() =>
    deps.database.db.transaction().execute(async (trx) => {
      await refuseOverConcurrency(trx, deps.config, scope.orgId);
      const inserted = await insertExportJob(trx, {
        orgId: scope.orgId,
        requestedBy: subjectOf(viewer),
        format: args.format,
        compression: args.compression ?? 'NONE',
        columns,
        filter,
        scopeProjectIds: scope.projectIds,
        windowFrom: from,
        windowTo: to,
        rowsTotal,
        bossJobId,
      });
      // Same transaction: a job row without its queue entry (or the reverse) cannot exist.
      await exportsSystem.enqueue(trx, inserted.id, bossJobId);
      return inserted;
    }),
  );
  if (deps.config.telemetry.metrics.enabled) exportJobsTotal.inc({ status: 'created' });
  exportsSystem.nudge();
  return row;
}

/** Every project the filter names must be the org's and within the key's projects. */
async function checkExportProjects(deps: ExportDeps, scope: Scope, projectIds: readonly string[]): Promise<void> {
  const outside = scope.projectIds ? projectIds.filter((p) => !scope.projectIds!.includes(p)) : [];
  const known = await coded(() => findOrgProjects(deps.database.db, scope.orgId, projectIds));
  const unknown = projectIds.filter((p) => !known.includes(p) || outside.includes(p));
  if (unknown.length) throw badInput(`filter.projectIds names projects outside your scope: ${unknown.slice(0, 10).join(', ')}`, { argument: 'filter.projectIds' });
}

/** The rows the export will write; refuses above EXPORT_MAX_ROWS. */
async function countExportRows(deps: ExportDeps, scope: Scope, filter: Parameters<typeof countTracesUpTo>[2]): Promise<number> {
  const { config, database } = deps;
  const max = config.exports.maxRows;
  // Counts at most max + 1 rows, under the batch statement timeout: a huge range stops early.
  const rowsTotal = await coded(() =>
    database.db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('statement_timeout', ${String(config.exports.batchTimeoutMs)}, true)`.execute(trx);
      return countTracesUpTo(trx, scope, filter, max + 1);
    }),
  );
  if (rowsTotal > max) {
    throw new AppError(ErrorCode.EXPORT_TOO_LARGE, `The filter matches more than EXPORT_MAX_ROWS (${max}) rows: narrow the time range or the filter`, { maxRows: max });
  }
  return rowsTotal;
}

/** Under the org's export lock: at most EXPORT_MAX_CONCURRENT_PER_ORG unfinished jobs. */
async function refuseOverConcurrency(trx: Parameters<typeof countUnfinishedExportJobs>[0], config: Config, orgId: string): Promise<void> {
  await lockOrgExports(trx, orgId);
  const unfinished = await countUnfinishedExportJobs(trx, orgId);
  if (unfinished >= config.exports.maxConcurrentPerOrg) {
    throw new AppError(ErrorCode.TOO_MANY_EXPORTS, `Your org already has ${unfinished} exports pending or running (at most ${config.exports.maxConcurrentPerOrg}); wait or cancel one`, {
      maxConcurrent: config.exports.maxConcurrentPerOrg,
    });
  }
}

export async function getExport(ctx: ServiceContext<'database'>, id: string): Promise<ExportJobRow | null> {
  if (!isUuid(id)) throw badInput('id must be an export job id (UUID)', { argument: 'id' });
  return (await coded(() => findExportJob(ctx.services.database.readDb, ctx.scope, id))) ?? null;
}

const STATUSES: ExportStatus[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'];

export async function listExports(ctx: ServiceContext<'database'>, args: { first?: number | null; after?: string | null; status?: ExportStatus | null }) {
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput('first must be between 1 and 100', { argument: 'first', max: 100 });
  if (args.status && !STATUSES.includes(args.status)) throw badInput('unknown status', { argument: 'status' });
  const after = args.after ? decodeJobCursor(args.after) : null;
  const rows = await coded(() => listExportJobs(ctx.services.database.readDb, ctx.scope, { status: args.status ?? undefined, limit: first + 1, after }));
  const page = rows.slice(0, first).map((r) => ({ row: r as ExportJobRow, cursor: encodeJobCursor(r.created_key, r.id) }));
  return { page, hasNextPage: rows.length > first, hasPreviousPage: after !== null };
}

const encodeJobCursor = (createdAt: string, id: string) => Buffer.from(JSON.stringify({ c: createdAt, i: id })).toString('base64url');

function decodeJobCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown };
    if (typeof v.c === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(v.c) && typeof v.i === 'string' && isUuid(v.i)) return { createdAt: v.c, id: v.i };
  } catch {
    // falls through to the coded error
  }
  throw badInput('after is not a cursor of exportJobs', { argument: 'after' });
}

export async function cancelExport(ctx: ExportContext, id: string): Promise<ExportJobRow> {
  const { services: deps, scope } = ctx;
  if (!isUuid(id)) throw badInput('id must be an export job id (UUID)', { argument: 'id' });
  const exportsSystem = system(deps);
  const cancelled = await coded(() =>
    deps.database.db.transaction().execute(async (trx) => {
      const row = await cancelExportJob(trx, scope, id);
      if (row?.boss_job_id) await exportsSystem.cancelQueued(trx, row.boss_job_id);
      return row;
    }),
  );
  if (cancelled) {
    if (deps.config.telemetry.metrics.enabled) exportJobsTotal.inc({ status: 'cancelled' });
    return cancelled;
  }
  const existing = await coded(() => findExportJob(deps.database.db, scope, id));
  if (!existing) throw notFound('No export job with this id in your org');
  throw badInput(`The export is already ${existing.status}; only PENDING or RUNNING exports can be cancelled`, { status: existing.status });
}
