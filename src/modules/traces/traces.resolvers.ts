import type { Resolvers } from '../../__generated__/resolvers-types';
import { notFound } from '../../shared/errors';
import { countMatchingTraces, getTrace, listTraces } from './traces.service';

export const traceResolvers: Resolvers = {
  Query: {
    traces: (_p, args, ctx) => listTraces(ctx, args),
    trace: (_p, { id }, ctx) => getTrace(ctx, id),
    searchTraces: (_p, args, ctx) =>
      listTraces(ctx, { filter: args.filter, first: args.first, after: args.after, last: args.last, before: args.before, search: args.query }),
  },
  TraceConnection: {
    edges: (c) => c.rows.map((r) => ({ cursor: r.cursor, node: r })),
    nodes: (c) => [...c.rows],
    pageInfo: (c) => ({
      hasNextPage: c.hasNextPage,
      hasPreviousPage: c.hasPreviousPage,
      startCursor: c.rows[0]?.cursor ?? null,
      endCursor: c.rows[c.rows.length - 1]?.cursor ?? null,
    }),
    totalCount: (c, _a, ctx) => countMatchingTraces(ctx, c),
  },
  Trace: {
    traceId: (t) => t.trace_id,
    spanId: (t) => t.span_id,
    parentSpanId: (t) => t.parent_span_id,
    timestamp: (t) => t.ts,
    projectId: (t) => t.project_id,
    project: async (t, _a, ctx) => {
      const p = await ctx.loaders.projectById.load(t.project_id);
      if (!p) throw notFound(`Project ${t.project_id} is not visible to this key`);
      return p;
    },
    userId: (t) => t.user_id,
    sessionId: (t) => t.session_id,
    statusCode: (t) => t.status_code,
    status: (t) => (t.status_code >= 400 ? 'ERROR' : 'OK'),
    errorType: (t) => t.error_type,
    durationMs: (t) => t.duration_ms,
    ttftMs: (t) => t.ttft_ms,
    promptTokens: (t) => t.prompt_tokens,
    completionTokens: (t) => t.completion_tokens,
    cachedTokens: (t) => t.cached_tokens,
    totalTokens: (t) => t.total_tokens,
    promptCostUsd: (t) => Number(t.prompt_cost_usd),
    completionCostUsd: (t) => Number(t.completion_cost_usd),
    totalCostUsd: (t) => Number(t.total_cost_usd),
    scores: (t, _a, ctx) => ctx.loaders.scoresByTraceId.load(t.id),
    session: (t, _a, ctx) => (t.session_id ? ctx.loaders.sessionById.load(t.session_id) : null),
    parent: async (t, _a, ctx) => {
      if (!t.parent_span_id) return null;
      const spans = await ctx.loaders.spansByTraceId.load(t.trace_id);
      return spans.find((s) => s.span_id === t.parent_span_id) ?? null;
    },
    children: async (t, _a, ctx) => (await ctx.loaders.spansByTraceId.load(t.trace_id)).filter((s) => s.parent_span_id === t.span_id),
    related: (t, _a, ctx) => ctx.loaders.spansByTraceId.load(t.trace_id),
  },
};
