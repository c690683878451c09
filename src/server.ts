import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { AppServices, RequestContext } from './context';
import { createRequestContext } from './context';
import { loadTypeDefs, resolvers } from './schema';
import { Authenticator } from './auth/authenticator';
import { createErrorFormatter } from './graphql/error-masking';
import { unauthenticated } from './shared/errors';
import { checkReadiness, databaseProbes, type ReadinessProbe } from './health';

export interface GatewayServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<RequestContext>;
  readonly authenticator: Authenticator;
  /** Stop accepting, let in-flight requests finish (up to the deadline), stop Apollo. */
  shutdown(deadlineMs: number): Promise<void>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
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
  const authenticator = new Authenticator(database.readDb, database.db);
  const apollo = new ApolloServer<RequestContext>({
    typeDefs: loadTypeDefs(),
    resolvers: resolvers as never,
    csrfPrevention: true,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // main.ts owns signal handling: drain HTTP first, then stop Apollo, then close pools.
    stopOnTerminationSignals: false,
    formatError: createErrorFormatter({ maskInternal: config.env !== 'development', logger }),
    plugins: [ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();

  const probes = [...databaseProbes(database), ...extraProbes];
  let shuttingDown = false;
  let inFlight = 0;
  let idleResolve: (() => void) | null = null;

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
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      context: async () => {
        const viewer = await authenticator.authenticate({
          authorization: req.headers.authorization,
          apiKey: req.headers['x-api-key'] as string | undefined,
        });
        if (!viewer) throw unauthenticated();
        return createRequestContext(services, viewer, requestId);
      },
    });
    const outHeaders: Record<string, string> = { 'x-request-id': requestId };
    for (const [k, v] of result.headers) outHeaders[k] = v;
    if (result.body.kind === 'complete') {
      outHeaders['content-length'] = String(Buffer.byteLength(result.body.string));
      res.writeHead(result.status ?? 200, outHeaders);
      res.end(result.body.string);
    } else {
      res.writeHead(result.status ?? 200, outHeaders);
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse) {
    const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 64)) || randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/graphql':
        return handleGraphQL(req, res, url, requestId);
      case '/health/live':
        return sendJson(res, 200, { status: 'ok' });
      case '/health/ready': {
        if (shuttingDown) return sendJson(res, 503, { status: 'unhealthy', reason: 'shutting down', checks: {} });
        const r = await checkReadiness(probes);
        return sendJson(res, r.status === 'unhealthy' ? 503 : 200, r);
      }
      case '/':
        return sendJson(res, 200, { service: 'analytics-gateway', graphql: '/graphql', health: ['/health/live', '/health/ready'] });
      default:
        return sendJson(res, 404, errorBody(`No route for ${url.pathname}`, 'NOT_FOUND'));
    }
  }

  const httpServer = http.createServer((req, res) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (inFlight === 0 && idleResolve) idleResolve();
    });
    route(req, res).catch((err) => {
      logger.error({ err }, 'unhandled error in HTTP handler');
      if (!res.headersSent) sendJson(res, 500, errorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
      else res.end();
    });
  });
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;

  return {
    httpServer,
    apollo,
    authenticator,
    async shutdown(deadlineMs: number) {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (idleResolve = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref()),
        ]);
      }
      httpServer.closeAllConnections();
      await closed;
      await apollo.stop();
    },
  };
}

export type { BaseContext };
