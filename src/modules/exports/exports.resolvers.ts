import type { Resolvers } from '../../__generated__/resolvers-types';
import { AppError, ErrorCode } from '../../shared/errors';
import { isUuid } from '../traces/cursor';
import { badInput } from '../../shared/errors';

export const exportResolvers: Resolvers = {
  Query: {
    exportJob: async (_p, { id }, ctx) => {
      if (!isUuid(id)) throw badInput('id must be an export job id (UUID)', { argument: 'id' });
      const row = await ctx.services.database.readDb
        .selectFrom('export_jobs')
        .selectAll()
        .where('org_id', '=', ctx.scope.orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return null;
      return {
        id: row.id,
        format: row.format as 'CSV' | 'JSONL' | 'PARQUET',
        status: row.status as 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED',
        rowCount: row.row_count == null ? null : Number(row.row_count),
        location: row.location,
        error: row.error,
        createdAt: row.created_at,
        finishedAt: row.finished_at,
      };
    },
  },
  Mutation: {
    exportTraces: () => {
      // Refuse rather than create a job nothing would ever run.
      throw new AppError(ErrorCode.NOT_IMPLEMENTED, 'Exports are not available yet: the export worker has not shipped');
    },
  },
};
