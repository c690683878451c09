import http from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { AppServices, RequestContext } from './context';
import { createRequestContext } from './context';
import { loadTypeDefs, resolvers } from './schema';
import { Authenticator } from './auth/authenticator';
import { buildAuthorizedSchema, createAuthenticator } from './auth';
import { createRequestPipeline } from './pipeline';
import { createErrorFormatter, errorLoggingPlugin } from './graphql/error-masking';
import { fromDatabaseError, unauthenticated } from './shared/errors';
import { checkReadiness, databaseProbes, type ReadinessProbe } from './health';
import { HttpDrain } from './http-drain';
import { jsonContentTypeRefusal } from './http/media-type';
import { findInputProblem } from './http/input-guards';
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

/** Constant-time comparison of a Bearer credential with the expected token. */
function bearerIs(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const errorBody = (message: string, code: string, extra: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { code, ...extra } }],
});

class BodyTooLarge extends Error {}

/** After a 413, what is still arriving is read and dropped for this long before the socket is cut. */
const DISCARD_AFTER_413_MS = 5_000;

/**
 * The body as text, at most `maxBytes`. Over the limit (declared or, chunked, counted) it
 * rejects at once; the rest of the body is read and dropped so that the client, still
 * sending, gets the 413 instead of a reset connection.
 */
function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const discard = () => {
      req.removeAllListeners('data');
      req.resume();
      const timer = setTimeout(() => req.destroy(), DISCARD_AFTER_413_MS);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
      reject(new BodyTooLarge());
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) return discard();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        chunks.length = 0;
        discard();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The parts of a GET request Apollo decodes itself, decoded the same way for the boundary checks. */
function getParameters(url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ['query', 'operationName', 'variables', 'extensions']) {
    const v = url.searchParams.get(name);
    if (v === null) continue;
    if (name === 'variables' || name === 'extensions') {
      try {
        out[name] = JSON.parse(v);
        continue;
      } catch {
        /* Apollo refuses it with its own 400 */
      }
    }
    out[name] = v;
  }
  return out;
}

function inputRefusal(body: unknown, maxDepth: number): { message: string; extra: Record<string, unknown> } | null {
  const problem = findInputProblem(body, maxDepth);
  if (!problem) return null;
  if (problem.kind === 'depth') return { message: `The request nests deeper than ${problem.limit} levels`, extra: { limit: problem.limit } };
  return { message: `Strings may not contain the NUL character (U+0000)${problem.path ? ` (at ${problem.path.slice(0, 100)})` : ''}`, extra: {} };
}

/** Answers for requests Node's parser refuses before any handler runs (over-long headers, garbage). */
function clientErrorResponse(err: NodeJS.ErrnoException, maxHeaderBytes: number): string {
  const overflow = err.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason, message, code] = overflow
    ? [431, 'Request Header Fields Too Large', `Request line and headers exceed ${maxHeaderBytes} bytes`, 'BAD_REQUEST']
    : [400, 'Bad Request', 'Malformed HTTP request', 'BAD_REQUEST'];
  const body = JSON.stringify(errorBody(message, code, overflow ? { limit: maxHeaderBytes } : {}));
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
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
      errorLoggingPlugin(),
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
          sendJson(res, 413, errorBody(`Request body exceeds ${config.http.maxBodyBytes} bytes`, 'PAYLOAD_TOO_LARGE', { limit: config.http.maxBodyBytes }), { connection: 'close' });
          return;
        }
        throw err;
      }
      const refusal = jsonContentTypeRefusal(req.headers['content-type']);
      if (refusal) {
        sendJson(res, 415, errorBody(refusal, 'BAD_REQUEST'));
        return;
      }
      try {
        body = text.length ? JSON.parse(text) : undefined;
      } catch {
        sendJson(res, 400, errorBody('Request body is not valid JSON', 'BAD_REQUEST'));
        return;
      }
    }
    const input = inputRefusal(method === 'POST' ? body : getParameters(url), config.http.maxVariablesDepth);
    if (input) {
      sendJson(res, 400, errorBody(input.message, 'BAD_USER_INPUT', input.extra));
      return;
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
      case '/v1/traces':
        if (!services.ingest) break;
        await services.ingest.receiver.handle(req, res, requestId);
        return;
      case '/health/live':
        return sendJson(res, 200, { status: 'ok' });
      case '/health/ready': {
        if (drain.draining) return sendJson(res, 503, { status: 'unhealthy', reason: 'shutting down', checks: {} });
        const r = await checkReadiness(probes, telemetry.healthCheckTimeoutMs);
        return sendJson(res, r.status === 'unhealthy' ? 503 : 200, { ...r, limits: pipeline.limitsMode() });
      }
      case '/metrics': {
        // Off the public port unless a token guards it or only this machine can reach it (config.ts).
        if (!metricsOn || telemetry.metrics.onPublicPort === 'off') break;
        if (telemetry.metrics.onPublicPort === 'token' && !bearerIs(req.headers.authorization, telemetry.metrics.token!)) {
          return sendJson(res, 401, errorBody('/metrics needs "Authorization: Bearer <METRICS_TOKEN>"', 'UNAUTHENTICATED'), { 'www-authenticate': 'Bearer' });
        }
        const m = await renderMetrics();
        res.setHeader('content-length', Buffer.byteLength(m.body));
        res.writeHead(200, { 'content-type': m.contentType });
        return res.end(m.body);
      }
      case '/':
        return sendJson(res, 200, { service: 'analytics-gateway', graphql: '/graphql', ...(config.playground.enabled ? { playground: '/playground' } : {}), ...(services.ingest ? { otlpTraces: '/v1/traces' } : {}), health: ['/health/live', '/health/ready'] });
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
    const level = accessLog && (endpoint === '/graphql' || endpoint === '/v1/traces' || endpoint === 'other' ? accessLog : 'debug');
    if (level && logger.isLevelEnabled(level)) {
      logger[level](
        { requestId, traceId, method: req.method, path: endpoint === 'other' ? undefined : endpoint, status, durationMs: Math.round(seconds * 10000) / 10, requestBytes, responseBytes },
        'request',
      );
    }
  }

  const httpServer = http.createServer({ maxHeaderSize: config.http.maxHeaderBytes }, (req, res) => {
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
  // Node's own answer to a parse error is a bare status line; clients get JSON like everywhere else.
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err, config.http.maxHeaderBytes));
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
      // Spans accepted into the queue are written before the database closes.
      await services.ingest?.stop();
      await apollo.stop();
    },
  };
}

export type { BaseContext };
