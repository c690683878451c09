import type { Resolvers } from '../../__generated__/resolvers-types';
import { can } from '../../auth/permissions';
import { signedDownloadPath } from './download-token';
import { cancelExport, createExport, getExport, listExports } from './exports.service';

const int = (v: string | number | null | undefined) => (v == null ? null : Number(v));

export const exportResolvers: Resolvers = {
  Query: {
    exportJob: (_p, { id }, ctx) => getExport(ctx, id),
    exportJobs: (_p, args, ctx) => listExports(ctx, args),
  },
  Mutation: {
    exportTraces: (_p, args, ctx) => createExport(ctx, args),
    cancelExport: (_p, { id }, ctx) => cancelExport(ctx, id),
  },
  ExportJob: {
    format: (j) => j.format as 'CSV' | 'JSONL' | 'PARQUET',
    compression: (j) => j.compression as 'NONE' | 'GZIP',
    status: (j) => j.status as 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED',
    rowCount: (j) => int(j.row_count),
    progress: (j) => ({ rowsWritten: Number(j.rows_written ?? 0), rowsTotal: int(j.rows_total) }),
    bytes: (j) => int(j.bytes),
    windowFrom: (j) => j.window_from,
    windowTo: (j) => j.window_to,
    location: (j) => (j.status === 'SUCCEEDED' ? j.location : null),
    downloadUrl: (j, _a, ctx) => {
      const secret = ctx.services.exports?.signingSecret;
      if (j.status !== 'SUCCEEDED' || !secret) return null;
      // A signed URL hands the file to whoever holds it: only for callers who may read it all.
      if (j.columns.some((c) => c === 'input' || c === 'output') && !can(ctx.viewer.role, 'TRACE_CONTENT_READ')) return null;
      return signedDownloadPath(secret, j.id, j.org_id, ctx.services.config.exports.urlTtlSeconds);
    },
    attempts: (j) => j.attempts,
    createdAt: (j) => j.created_at,
    startedAt: (j) => j.started_at,
    finishedAt: (j) => j.finished_at,
    expiresAt: (j) => (j.status === 'SUCCEEDED' || j.status === 'EXPIRED' ? j.expires_at : null),
  },
  ExportJobConnection: {
    edges: (c) => c.page.map((e) => ({ cursor: e.cursor, node: e.row })),
    nodes: (c) => c.page.map((e) => e.row),
    pageInfo: (c) => ({
      hasNextPage: c.hasNextPage,
      hasPreviousPage: c.hasPreviousPage,
      startCursor: c.page[0]?.cursor ?? null,
      endCursor: c.page[c.page.length - 1]?.cursor ?? null,
    }),
  },
};
