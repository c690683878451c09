import type { Resolvers } from '../../__generated__/resolvers-types';
import { badInput } from '../../shared/errors';
import { resolvePageArgs } from '../../shared/page-args';
import { listSessions } from './sessions.service';

export const sessionResolvers: Resolvers = {
  Query: {
    sessions: (_p, args, ctx) => listSessions(ctx, args),
    session: (_p, { id }, ctx) => {
      if (id.length > 200) throw badInput('id is at most 200 characters', { argument: 'id' });
      return ctx.loaders.sessionById.load(id);
    },
  },
  Session: {
    id: (s) => s.session_id,
    userId: (s) => s.user_id,
    projectId: (s) => s.project_id,
    projectIds: (s) => s.project_ids,
    traceCount: (s) => s.trace_count,
    firstSeen: (s) => s.first_seen,
    lastSeen: (s) => s.last_seen,
    totalCostUsd: (s) => s.total_cost,
    totalTokens: (s) => s.total_tokens,
    errorCount: (s) => s.error_count,
    traces: (s, args, ctx) => {
      // Bad page arguments fail this field alone, before the batch.
      resolvePageArgs(args);
      return ctx.loaders.tracesBySession.load({ sessionId: s.session_id, first: args.first, after: args.after, last: args.last, before: args.before });
    },
  },
};
