import type { ApolloServer } from '@apollo/server';
import type { Viewer } from '../auth/viewer';
import { createRequestContext, type AppServices, type RequestContext } from '../context';
import { findActiveOrgIds } from './cache.repository';

/**
 * Warming at start: for each org with traffic in the last day, the last hour's performance and
 * the current month's costs, run through the normal request path (plugins, cache) as an
 * internal ADMIN viewer of that org without project scope.
 *
 * An entry only helps a request that normalizes to the same thing: same org, role ADMIN, no
 * project scope, the same arguments and the same selection set. So the selections below are
 * fixed and documented (README "Caching"); a dashboard wanting a warm first paint asks exactly
 * these. The costs range ends at the start of the next UTC hour so that its key stays the same
 * for a whole hour.
 */
export const WARM_PERFORMANCE_QUERY = `query WarmPerformance {
  performance(range: { last: "1h" }) {
    from to
    totals { requestCount errorCount errorRate latency { avgMs p50Ms p95Ms p99Ms } }
  }
}`;

export const WARM_COSTS_QUERY = `query WarmCosts($from: DateTime!, $to: DateTime!) {
  costs(range: { from: $from, to: $to }) {
    from to
    totals { totalUsd promptUsd completionUsd requestCount totalTokens }
  }
}`;

export function warmCostsVariables(now = new Date()): { from: string; to: string } {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 + 3_600_000);
  return { from: from.toISOString(), to: to.toISOString() };
}

export function warmingViewer(orgId: string): Viewer {
  return { orgId, orgName: orgId, role: 'ADMIN', projectIds: null, keyId: null, keyName: 'cache-warmer', internal: true };
}

export interface WarmingRun {
  /** Resolves when warming finished (never rejects). */
  readonly done: Promise<{ orgs: number; fields: number; failed: number }>;
  stop(): void;
}

/** Starts warming in the background; failures are logged, never thrown. */
export function startCacheWarming(services: AppServices, apollo: ApolloServer<RequestContext>, now = new Date()): WarmingRun {
  let stopped = false;
  const log = services.logger.child({ component: 'cache-warming' });
  const run = async () => {
    const stats = { orgs: 0, fields: 0, failed: 0 };
    if (!services.cache?.options.enabled) return stats;
    try {
      const orgs = await findActiveOrgIds(services.database.readDb, new Date(now.getTime() - 86_400_000));
      for (const orgId of orgs) {
        if (stopped) break;
        stats.orgs++;
        for (const [query, variables] of [
          [WARM_PERFORMANCE_QUERY, undefined],
          [WARM_COSTS_QUERY, warmCostsVariables(now)],
        ] as const) {
          if (stopped) break;
          const contextValue = createRequestContext(services, warmingViewer(orgId), `cache-warm-${orgId}`);
          const res = await apollo.executeOperation({ query, variables }, { contextValue });
          const errors = res.body.kind === 'single' ? res.body.singleResult.errors : undefined;
          if (errors?.length) {
            stats.failed++;
            log.warn({ orgId, errors }, 'cache warming query failed');
          } else stats.fields++;
        }
      }
      log.info(stats, 'cache warmed');
    } catch (err) {
      log.warn({ err }, 'cache warming stopped');
    }
    return stats;
  };
  return {
    done: run(),
    stop: () => {
      stopped = true;
    },
  };
}
