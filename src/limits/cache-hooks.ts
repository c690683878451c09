import { HeaderMap, type GraphQLRequestContext, type GraphQLResponse } from '@apollo/server';
import { answerFromCache, cacheReportFor } from '../cache';

/** What the per-field cache (src/cache, issue 6) offers the rate limiter; tests pass their own. */
export interface CacheHooks {
  /** Root response keys of this request and whether each was answered from the cache. */
  cacheReportFor?(contextValue: object): Map<string, { hit: boolean }> | undefined;
  /** A complete answer from cache for a refused request, or null when any field is missing. */
  answerFromCache?(requestContext: GraphQLRequestContext<any>): Promise<unknown> | unknown;
}

export const fieldCacheHooks: CacheHooks = {
  cacheReportFor: (ctx) => cacheReportFor(ctx),
  answerFromCache: (rc) => answerFromCache(rc as never),
};

/** answerFromCache may give a full GraphQLResponse or just the result ({ data }). */
export function asGraphQLResponse(answer: unknown): GraphQLResponse | null {
  if (!answer || typeof answer !== 'object') return null;
  const a = answer as Record<string, unknown>;
  if ('body' in a && a.body && typeof a.body === 'object' && 'http' in a) return a as unknown as GraphQLResponse;
  if ('data' in a) return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: a as never } };
  return null;
}
