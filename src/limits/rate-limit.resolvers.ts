import type { Resolvers } from '../__generated__/resolvers-types';
import { secondsUntilFull } from './rate-limit-headers';

export const rateLimitResolvers: Resolvers = {
  Query: {
    rateLimit: (_p, _args, ctx) => {
      // The budget stage of the request pipeline wrote this before anything executed.
      const s = ctx.operation.budget?.snapshot;
      const budget = ctx.services.config.limits.budgets[ctx.viewer.role];
      if (!s) {
        // Rate limiting is switched off (RATE_LIMIT_ENABLED=false): nothing is priced or charged.
        return {
          dryRun: false,
          requestedQueryCost: 0,
          maximumAvailable: budget.burst,
          currentlyAvailable: budget.burst,
          restoreRate: budget.perMinute / 60,
          limitPerMinute: budget.perMinute,
          resetInSeconds: 0,
          maxCostPerOperation: ctx.services.config.limits.maxCostPerOperation,
          store: 'disabled',
        };
      }
      return { ...s, resetInSeconds: secondsUntilFull(s) };
    },
  },
};
