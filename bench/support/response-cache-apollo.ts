/**
 * Comparison (b) of `npm run bench:load`: the gateway's schema and resolvers on a stock Apollo
 * Server 5 (startStandaloneServer) with the official whole-response cache plugin
 * (@apollo/server-plugin-response-cache, Apollo's in-memory LRU), over the same database.
 * Authentication by API key as in the gateway; responses keyed per org + role + project scope
 * so that no tenant is served another's answer; no pricing, budgets or document limits.
 *
 *   node --import tsx bench/support/response-cache-apollo.ts   (env: DATABASE_URL; prints "listening <url>")
 *
 * Answers `stats` on its IPC channel: { requests, hits }.
 */
import pino from 'pino';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { Authenticator } from '../../src/auth/authenticator';
import { createRequestContext, type AppServices, type RequestContext } from '../../src/context';
import { loadTypeDefs, resolvers } from '../../src/schema';
import { buildAuthorizedSchema } from '../../src/auth';
import { scopeKeyOf } from '../../src/cache/cache-key';
import { cacheTtlsOf } from '../../src/cache/cache-policy';
import { unauthenticated } from '../../src/shared/errors';

async function main() {
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_MODE: 'postgres',
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_ENABLED: 'false',
  });
  const database = await openDatabase(config);
  const services: AppServices = { config, database, logger: pino({ level: 'silent' }) };
  const authenticator = new Authenticator(database.readDb, database.db);
  const schema = buildAuthorizedSchema(loadTypeDefs(), resolvers);
  const ttls = cacheTtlsOf(schema);
  const stats = { requests: 0, hits: 0 };

  const plugins: ApolloServerPlugin<RequestContext>[] = [
    // Nested objects have no hints: without a default they would make every response
    // uncacheable. Root fields without @cacheControl (viewer, projects, …) get maxAge 0 below,
    // so a response that holds one is not cached, as in the gateway.
    ApolloServerPluginCacheControl({ defaultMaxAge: 3600, calculateHttpHeaders: false }),
    {
      async requestDidStart() {
        return {
          async didResolveOperation(rc) {
            // The bench's operations select root fields directly (no fragments).
            const roots = rc.operation?.selectionSet.selections.flatMap((s) => (s.kind === 'Field' ? [s.name.value] : [])) ?? [];
            if (roots.some((f) => !ttls.has(f))) rc.overallCachePolicy.restrict({ maxAge: 0 });
          },
          async willSendResponse(rc) {
            stats.requests++;
            if (rc.metrics.responseCacheHit) stats.hits++;
          },
        };
      },
    },
    responseCachePlugin({
      extraCacheKeyData: async (rc) => `${rc.contextValue.viewer.orgId}:${rc.contextValue.viewer.role}:${scopeKeyOf(rc.contextValue.viewer.projectIds)}`,
    }),
  ];
  const server = new ApolloServer<RequestContext>({ schema, plugins, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => {
      const viewer = await authenticator.authenticate({ authorization: req.headers.authorization });
      if (!viewer) throw unauthenticated();
      return createRequestContext(services, viewer, 'bench');
    },
  });
  process.on('message', (m) => {
    if (m === 'stats') process.send?.({ stats });
  });
  process.stdout.write(`listening ${url}\n`);
  process.on('SIGTERM', () => {
    server
      .stop()
      .then(() => database.close())
      .finally(() => process.exit(0));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
