import type { Resolvers } from '../../__generated__/resolvers-types';
import { qualityReport } from './quality.service';

export const qualityResolvers: Resolvers = {
  Query: {
    quality: (_p, args, ctx) => qualityReport(ctx, args),
  },
  Score: {
    source: (s) => s.source.toUpperCase() as 'HUMAN' | 'LLM' | 'HEURISTIC',
    timestamp: (s) => s.ts,
  },
};
