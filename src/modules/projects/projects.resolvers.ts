import { usdNumber } from '../../shared/money';
import type { Resolvers } from '../../__generated__/resolvers-types';
import { resolveRange } from '../../shared/time-range';
import { latencyPercentiles } from '../../query/trace-stats';
import { RELATIVE_RANGE_QUANTUM_MS } from '../../query/report-args';
import { createProject, listProjects, renameProject } from './projects.service';
import { avgLatencyMs, errorRate } from '../../query/derived-stats';

export const projectResolvers: Resolvers = {
  Query: {
    projects: (_p, _a, ctx) => listProjects(ctx),
    project: (_p, { id }, ctx) => ctx.loaders.projectById.load(id),
  },
  // PROJECTS_MANAGE (ADMIN), on the primary; ingestion on this instance learns of a new project at once.
  Mutation: {
    createProject: async (_p, { id, name }, ctx) => {
      const row = await createProject(ctx, { id, name });
      ctx.services.ingest?.projects.forget(ctx.scope.orgId);
      ctx.logger.info({ projectId: row.id, by: ctx.viewer.keyId ?? ctx.viewer.subject }, 'project created');
      return row;
    },
    renameProject: async (_p, { id, name }, ctx) => {
      const row = await renameProject(ctx, { id, name });
      ctx.logger.info({ projectId: row.id, by: ctx.viewer.keyId ?? ctx.viewer.subject }, 'project renamed');
      return row;
    },
  },
  Project: {
    createdAt: (p) => p.created_at,
    stats: async (p, { range }, ctx) => {
      const r = resolveRange(range ?? { last: '24h' }, {
        retentionDays: ctx.services.config.database.retentionDays,
        quantumMs: RELATIVE_RANGE_QUANTUM_MS,
        required: true,
      })!;
      const acc = await ctx.loaders.projectStatsByRange.load({ projectId: p.id, from: r.from, to: r.to });
      return {
        requestCount: acc.n,
        errorCount: acc.errors,
        errorRate: errorRate(acc) ?? 0,
        totalCostUsd: usdNumber(acc.totalCost),
        totalTokens: acc.totalTokens,
        avgLatencyMs: avgLatencyMs(acc),
        p95LatencyMs: latencyPercentiles(acc).p95,
      };
    },
  },
};
