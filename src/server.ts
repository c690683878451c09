import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { AppServices, RequestContext } from './context';
import { createRequestContext } from './context';
import { loadTypeDefs, resolvers } from './schema';
import { Authenticator } from './auth/authenticator';
import { buildAuthorizedSchema, createAuthenticator } from './auth';
import { createRequestPipeline } from './pipeline';
import { createErrorFormatter } from './graphql/error-masking';
import { fromDatabaseError, unauthenticated } from './shared/errors';
import { checkReadiness, databaseProbes, type ReadinessProbe } from './health';
import { HttpDrain } from './http-drain';
import { endpointOf } from './telemetry/labels';
import { callerTraceId, requestSpansEnabled, runInServerSpan } from './telemetry/http-tracing';
import { renderMetrics } from './telemetry/metrics';
import { recordHttpRequest } from './telemetry/http-metrics';
import { graphqlTelemetryPlugin, withGraphQLSpan } from './telemetry/graphql-telemetry';
import { PersistedQueryStore } from './persisted-queries/apq-cache';
import { loadSafelist } from './persisted-queries/safelist';
import { createPlaygroundHandler } from './playground/playground-handler';
import { createDownloadHandler, isDownloadPath } from './modules/exports/download-route';

export interface GatewayServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<RequestContext>;
  readonly authenticator: Authenticator;
  /**
   * Drain (see http-drain.ts): readiness 503 at once; after SHUTDOWN_DRAIN_DELAY_MS the
   * listener closes, answers carry `Connection: close` and idle sockets are closed; resolved as
   * soon as every request is answered (the rest cut at `deadlineMs`); then Apollo stops.
   */
  shutdown(deadlineMs: number): Promise<void>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  // setHeader (not a writeHead argument) so that the response-size metric can read it back.
  res.setHeader('content-length', Buffer.byteLength(text));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

const errorBody = (message: string, code: string, extra: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { code, ...extra } }],
});

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function createGatewayServer(services: AppServices, extraProbes: ReadinessProbe[] = []): Promise<GatewayServer> {
  const { config, logger, database } = services;
  const telemetry = config.telemetry;
  const metricsOn = telemetry.metrics.enabled;
  const authenticator = services.authenticator ?? createAuthenticator(services);
  const playground = createPlaygroundHandler({ enabled: config.playground.enabled });
  // Persisted queries (APQ) in the shared Redis; safelist mode pins the manifest's operations.
  const safelist = config.persistedQueries.safelistPath ? loadSafelist(config.persistedQueries.safelistPath) : undefined;
  // Safelist, document limits, pricing, budgets and the per-field cache: one plugin, stages in order.
  const pipeline = createRequestPipeline(services, { safelist });
  const apqStore = new PersistedQueryStore({ redis: services.redis, keyPrefix: config.redisKeyPrefix, timeoutMs: config.cache.redisTimeoutMs, logger });
  for (const [hash, body] of safelist?.operations ?? []) apqStore.pin(hash, body);
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
    persistedQueries: config.persistedQueries.enabled ? { cache: apqStore, ttl: config.persistedQueries.ttlSeconds || null } : false,
    formatError: createErrorFormatter({ maskInternal: config.env !== 'development', logger }),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      graphqlTelemetryPlugin({ metrics: metricsOn, includeDocument: telemetry.tracing.includeDocument }),
      pipeline.plugin,
      // TTLs come from the SDL (src/cache/cache-policy.ts) and Cache-Control from the pipeline
      // (private, per tenant); Apollo's hint tracking would only wrap every resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();

  const probes = [...databaseProbes(database), ...extraProbes];
  const download = createDownloadHandler({ database, authenticator, exports: services.exports, logger }, sendJson);

  async function handleGraphQL(req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      sendJson(res, 405, errorBody('Use GET or POST', 'BAD_REQUEST'), { allow: 'GET, POST' });
      return;
    }
    let body: unknown = undefined;
    if (method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, config.http.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          sendJson(res, 413, errorBody(`Request body exceeds ${config.http.maxBodyBytes} bytes`, 'PAYLOAD_TOO_LARGE', { limit: config.http.maxBodyBytes }));
          return;
        }
        throw err;
      }
      const type = String(req.headers['content-type'] ?? '');
      if (type.includes('application/json')) {
        try {
          body = text.length ? JSON.parse(text) : undefined;
        } catch {
          sendJson(res, 400, errorBody('Request body is not valid JSON', 'BAD_REQUEST'));
          return;
        }
      } else {
        body = text;
      }
    }
    if (requestSpansEnabled()) await withGraphQLSpan(() => executeGraphQL(req, res, method, body, url, requestId));
    else await executeGraphQL(req, res, method, body, url, requestId);
  }

  async function executeGraphQL(req: http.IncomingMessage, res: http.ServerResponse, method: string, body: unknown, url: URL, requestId: string) {
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      // The authenticator throws coded SERVICE_UNAVAILABLE (HTTP 200) when the database cannot
      // answer; anything else a database lookup throws here is mapped too: Apollo would answer
      // an uncoded context error with HTTP 500 "Context creation failed".
      context: async () => {
        let viewer;
        try {
          viewer = await authenticator.authenticate({
            authorization: req.headers.authorization,
            apiKey: req.headers['x-api-key'] as string | undefined,
          });
        } catch (err) {
          throw fromDatabaseError(err) ?? err;
        }
        if (!viewer) throw unauthenticated();
        return createRequestContext(services, viewer, requestId);
      },
    });
    const outHeaders: Record<string, string> = { 'x-request-id': requestId };
    for (const [k, v] of result.headers) outHeaders[k] = v;
    if (result.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(result.body.string));
      res.writeHead(result.status ?? 200, outHeaders);
      res.end(result.body.string);
    } else {
      res.writeHead(result.status ?? 200, outHeaders);
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) {
    // The bundled GraphiQL; GET /graphql from a browser navigation (Accept: text/html) gets it too.
    if (playground.handles(req, url)) return playground.serve(req, res, url);
    if (isDownloadPath(url.pathname)) return download(req, res, url);
    switch (url.pathname) {
      case '/graphql':
        return handleGraphQL(req, res, url, requestId);
      case '/health/live':
        return sendJson(res, 200, { status: 'ok' });
      case '/health/ready': {
        if (drain.draining) return sendJson(res, 503, { status: 'unhealthy', reason: 'shutting down', checks: {} });
        const r = await checkReadiness(probes, telemetry.healthCheckTimeoutMs);
        return sendJson(res, r.status === 'unhealthy' ? 503 : 200, { ...r, limits: pipeline.limitsMode() });
      }
      case '/metrics': {
        if (!metricsOn || telemetry.metrics.port !== undefined) break;
        const m = await renderMetrics();
        res.setHeader('content-length', Buffer.byteLength(m.body));
        res.writeHead(200, { 'content-type': m.contentType });
        return res.end(m.body);
      }
      case '/':
        return sendJson(res, 200, { service: 'analytics-gateway', graphql: '/graphql', ...(config.playground.enabled ? { playground: '/playground' } : {}), health: ['/health/live', '/health/ready'] });
    }
    return sendJson(res, 404, errorBody(`No route for ${url.pathname}`, 'NOT_FOUND'));
  }

  const accessLog = telemetry.accessLogLevel === 'silent' ? null : telemetry.accessLogLevel;

  /** Counts and times a finished (or aborted) request; writes the access log line. */
  function recordRequest(req: http.IncomingMessage, res: http.ServerResponse, endpoint: string, requestId: string, started: number, traceId: string | undefined) {
    const seconds = (performance.now() - started) / 1000;
    const status = res.headersSent ? res.statusCode : 499;
    const requestBytes = Number(req.headers['content-length'] ?? 0) || 0;
    const responseBytes = Number(res.getHeader('content-length') ?? 0) || 0;
    if (metricsOn) recordHttpRequest(endpoint, status, seconds, requestBytes, responseBytes);
    // Probes and scrapes arrive every few seconds: they are logged at debug only.
    const level = accessLog && (endpoint === '/graphql' || endpoint === 'other' ? accessLog : 'debug');
    if (level && logger.isLevelEnabled(level)) {
      logger[level](
        { requestId, traceId, method: req.method, path: endpoint === 'other' ? undefined : endpoint, status, durationMs: Math.round(seconds * 10000) / 10, requestBytes, responseBytes },
        'request',
      );
    }
  }

  const httpServer = http.createServer((req, res) => {
    const handled = drain.track(res);
    const started = performance.now();
    const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 64)) || randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const endpoint = endpointOf(url.pathname);
    let traceId: string | undefined;
    res.on('close', () => recordRequest(req, res, endpoint, requestId, started, traceId));
    const handle = () => {
      route(req, res, url, requestId)
        .catch((err) => {
          logger.error({ err }, 'unhandled error in HTTP handler');
          if (!res.headersSent) sendJson(res, 500, errorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
          else res.end();
        })
        .finally(handled);
    };
    // Probes and scrapes are not traced: every few seconds, they would only add noise.
    if (requestSpansEnabled() && (endpoint === '/graphql' || endpoint === 'other')) {
      traceId = runInServerSpan(req, res, endpoint, handle);
    } else {
      if (accessLog) traceId = callerTraceId(req);
      handle();
    }
  });
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  const drain = new HttpDrain(httpServer);

  return {
    httpServer,
    apollo,
    authenticator,
    async shutdown(deadlineMs: number) {
      const { cut } = await drain.drain({ delayMs: config.http.drainDelayMs, deadlineMs });
      if (cut > 0) logger.warn({ cut, deadlineMs }, 'shutdown deadline reached: requests still in flight were cut');
      await apollo.stop();
    },
  };
}

export type { BaseContext };
