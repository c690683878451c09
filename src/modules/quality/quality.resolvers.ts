import type { Resolvers } from '../../__generated__/resolvers-types';
import { qualityReport } from './quality.service';
import { selectsAnyField } from '../../graphql/selection';

export const qualityResolvers: Resolvers = {
  Query: {
    quality: (_p, args, ctx, info) =>
      qualityReport(ctx, args, {
        bins: selectsAnyField(info, new Set(['bins'])),
        labels: selectsAnyField(info, new Set(['labels'])),
        scored: selectsAnyField(info, new Set(['tracesWithScores', 'feedbackShare'])),
      }),
  },
  QualityReport: {
    plan: (r) => r.plan,
  },
  Score: {
    source: (s) => s.source.toUpperCase() as 'HUMAN' | 'LLM' | 'HEURISTIC',
    timestamp: (s) => s.ts,
  },
};
