import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Authenticator } from '../../auth/authenticator';
import { can } from '../../auth/permissions';
import { scopeOf } from '../../auth/viewer';
import type { DatabaseHandle } from '../../db/database';
import { fromDatabaseError, isExpectedCode } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { verifyDownload } from './download-token';
import type { ExportSystem } from './export-system';
import { fileNameOf } from './export-runner';
import type { ExportJobRow } from './exports.repository';

const ROUTE = /^\/exports\/([^/]+)\/download$/;

export const isDownloadPath = (pathname: string) => ROUTE.test(pathname);

const CONTENT_TYPE: Record<string, string> = { CSV: 'text/csv; charset=utf-8; header=present', JSONL: 'application/x-ndjson', PARQUET: 'application/vnd.apache.parquet' };

type Send = (res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;
const fail = (send: Send, res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  send(res, status, { errors: [{ message, extensions: { code } }] }, headers);

/**
 * GET /exports/:id/download: the finished file, streamed. Either the caller's credentials (an
 * API key or JWT with EXPORT, whose org and project scope must contain the job) or a signed URL
 * from `ExportJob.downloadUrl`. Another org's job is a 404 whichever way, as is an unknown id.
 */
export function createDownloadHandler(deps: { database: DatabaseHandle; authenticator: Authenticator; exports?: ExportSystem; logger: Logger }, send: Send) {
  return async function handleDownload(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return fail(send, res, 405, 'BAD_REQUEST', 'Use GET', { allow: 'GET, HEAD' });
    const id = ROUTE.exec(url.pathname)?.[1] ?? '';
    if (!isUuid(id)) return fail(send, res, 404, 'NOT_FOUND', 'No such export');
    const system = deps.exports;
    if (!system) return fail(send, res, 503, 'SERVICE_UNAVAILABLE', 'Exports are not running on this instance');
    let job: ExportJobRow | undefined;
    try {
      const expires = url.searchParams.get('expires');
      const signature = url.searchParams.get('signature');
      if (expires !== null || signature !== null) {
        job = await deps.database.db.selectFrom('export_jobs').selectAll().where('id', '=', id).executeTakeFirst();
        const check = job ? verifyDownload(system.signingSecret, id, job.org_id, expires ?? '', signature ?? '') : ({ ok: false, reason: 'bad-signature' } as const);
        if (!check.ok) {
          // A forged token learns nothing about whether the job exists.
          return check.reason === 'expired'
            ? fail(send, res, 403, 'FORBIDDEN', 'This download link has expired: ask exportJob for a new downloadUrl')
            : fail(send, res, 403, 'FORBIDDEN', 'This download link is not valid');
        }
      } else {
        const viewer = await deps.authenticator.authenticate({ authorization: req.headers.authorization, apiKey: req.headers['x-api-key'] as string | undefined });
        if (!viewer) return fail(send, res, 401, 'UNAUTHENTICATED', 'A valid API key or token is required (or use the signed downloadUrl)', { 'www-authenticate': 'Bearer' });
        if (!can(viewer.role, 'EXPORT')) return fail(send, res, 403, 'FORBIDDEN', 'Your role may not export traces');
        const scope = scopeOf(viewer);
        job = await deps.database.db
          .selectFrom('export_jobs')
          .selectAll()
          .where('id', '=', id)
          .where('org_id', '=', scope.orgId)
          .executeTakeFirst();
        if (job && scope.projectIds && !(job.scope_project_ids && job.scope_project_ids.every((p) => scope.projectIds!.includes(p)))) job = undefined;
        if (job && job.columns.some((c) => c === 'input' || c === 'output') && !can(viewer.role, 'TRACE_CONTENT_READ')) {
          return fail(send, res, 403, 'FORBIDDEN', 'This export contains trace content, which your role may not read');
        }
      }
      if (!job) return fail(send, res, 404, 'NOT_FOUND', 'No such export');
      if (job.status === 'EXPIRED') return fail(send, res, 410, 'EXPORT_NOT_READY', 'The export file has expired and was deleted');
      if (job.status !== 'SUCCEEDED' || !job.file_key) {
        return fail(send, res, 409, 'EXPORT_NOT_READY', `The export is ${job.status}; download it once it has SUCCEEDED`, { 'retry-after': '5' });
      }
      const file = await system.storage.open(job.file_key);
      if (!file) return fail(send, res, 410, 'EXPORT_NOT_READY', 'The export file is no longer available');
      const headers: Record<string, string> = {
        'content-type': job.compression === 'GZIP' ? 'application/gzip' : (CONTENT_TYPE[job.format] ?? 'application/octet-stream'),
        'content-disposition': `attachment; filename="${fileNameOf(job)}"`,
        'cache-control': 'private, no-store',
        'x-content-type-options': 'nosniff',
      };
      res.setHeader('content-length', file.bytes);
      res.writeHead(200, headers);
      if (method === 'HEAD') {
        file.stream.destroy();
        return void res.end();
      }
      await pipeline(file.stream, res).catch((err) => {
        // The client went away mid-download: nothing to answer any more.
        if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') deps.logger.warn({ err, exportId: id }, 'export download failed');
      });
    } catch (err) {
      const coded = fromDatabaseError(err) ?? (err as { extensions?: { code?: unknown } });
      const code = (coded as { extensions?: { code?: unknown } }).extensions?.code;
      if (res.headersSent) return void res.destroy();
      // An Authorization header in another scheme than Bearer: refused as credentials, not as an outage.
      if (code === 'UNAUTHENTICATED') return fail(send, res, 401, 'UNAUTHENTICATED', (coded as Error).message, { 'www-authenticate': 'Bearer' });
      if (isExpectedCode(code)) return fail(send, res, 503, String(code), (coded as Error).message);
      deps.logger.error({ err, exportId: id }, 'export download failed');
      return fail(send, res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
    }
  };
}
