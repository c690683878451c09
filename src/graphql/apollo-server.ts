import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { AppServices, RequestContext } from '../context';
import { loadTypeDefs, resolvers } from '../schema';
import { buildAuthorizedSchema } from '../auth';
import { createRequestPipeline, type RequestPipeline } from '../pipeline';
import { createErrorFormatter, errorLoggingPlugin } from './error-masking';
import { graphqlTelemetryPlugin } from '../telemetry/graphql-telemetry';
import { PersistedQueryStore } from '../persisted-queries/apq-cache';
import { loadSafelist, type Safelist } from '../persisted-queries/safelist';

export interface GatewayApollo {
  readonly apollo: ApolloServer<RequestContext>;
  /** Readiness reports where it keeps budgets (limitsMode). */
  readonly pipeline: RequestPipeline;
}

/** Persisted queries (APQ) in the shared Redis; safelist mode pins the manifest's operations. */
function persistedQueries(services: AppServices, safelist: Safelist | undefined) {
  const { config, logger } = services;
  if (!config.persistedQueries.enabled) return false as const;
  const store = new PersistedQueryStore({ redis: services.redis, keyPrefix: config.redisKeyPrefix, timeoutMs: config.cache.redisTimeoutMs, logger });
  for (const [hash, body] of safelist?.operations ?? []) store.pin(hash, body);
  return { cache: store, ttl: config.persistedQueries.ttlSeconds || null };
}

/** Apollo Server over the schema, with the request pipeline and the gateway's plugins; started. */
export async function createApolloServer(services: AppServices): Promise<GatewayApollo> {
  const { config, logger } = services;
  const telemetry = config.telemetry;
  const safelist = config.persistedQueries.safelistPath ? loadSafelist(config.persistedQueries.safelistPath) : undefined;
  // Safelist, document limits, pricing, budgets and the per-field cache: one plugin, stages in order.
  const pipeline = createRequestPipeline(services, { safelist });
  const apollo = new ApolloServer<RequestContext>({
    // @auth (the permission table) is enforced by wrapping resolvers: see src/auth/auth-directive.ts.
    schema: buildAuthorizedSchema(loadTypeDefs(), resolvers),
    parseOptions: pipeline.parseOptions,
    // Cached fields are spliced into the body as the JSON text they were stored as.
    stringifyResult: pipeline.stringifyResult,
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signal handling: drain HTTP first, then stop Apollo, then close pools.
    stopOnTerminationSignals: false,
    persistedQueries: persistedQueries(services, safelist),
    formatError: createErrorFormatter({ maskInternal: config.env !== 'development', logger }),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      graphqlTelemetryPlugin({ metrics: telemetry.metrics.enabled, includeDocument: telemetry.tracing.includeDocument }),
      pipeline.plugin,
      errorLoggingPlugin(),
      // TTLs come from the SDL (src/cache/cache-policy.ts) and Cache-Control from the pipeline
      // (private, per tenant); Apollo's hint tracking would only wrap every resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();
  return { apollo, pipeline };
}
