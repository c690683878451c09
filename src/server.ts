import http from 'node:http';
import type { ApolloServer, BaseContext } from '@apollo/server';
import type { AppServices, RequestContext } from './context';
import type { Authenticator } from './auth/authenticator';
import { createAuthenticator } from './auth';
import type { ReadinessProbe } from './health';
import { createApolloServer } from './graphql/apollo-server';
import { HttpDrain } from './http/drain';
import { createRouter } from './http/router';
import { gatewayRoutes } from './http/gateway-routes';
import { createRequestHandler } from './http/request-handler';
import { createRequestRecorder } from './http/access-log';
import { answerClientErrorsInJson } from './http/client-error';
import { createShutdown } from './http/shutdown';

export interface GatewayServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<RequestContext>;
  readonly authenticator: Authenticator;
  /**
   * Drain (see http/drain.ts): readiness 503 at once; after SHUTDOWN_DRAIN_DELAY_MS the
   * listener closes, answers carry `Connection: close` and idle sockets are closed; resolved as
   * soon as every request is answered (the rest cut at `deadlineMs`); then Apollo stops.
   */
  shutdown(deadlineMs: number): Promise<void>;
}

/** The public listener, not listening yet: Apollo (graphql/apollo-server.ts) behind the HTTP units of src/http/. */
export async function createGatewayServer(services: AppServices, extraProbes: ReadinessProbe[] = []): Promise<GatewayServer> {
  const { config, logger } = services;
  const authenticator = services.authenticator ?? createAuthenticator(services);
  const { apollo, pipeline } = await createApolloServer(services);
  const httpServer = http.createServer({ maxHeaderSize: config.http.maxHeaderBytes });
  const drain = new HttpDrain(httpServer);
  const routes = gatewayRoutes({ services, apollo, authenticator, extraProbes, limitsMode: pipeline.limitsMode, draining: () => drain.draining });
  const accessLogLevel = config.telemetry.accessLogLevel;
  const record = createRequestRecorder({ logger, metrics: config.telemetry.metrics.enabled, level: accessLogLevel });
  httpServer.on('request', createRequestHandler({ route: createRouter(routes), drain, record, logger, accessLog: accessLogLevel !== 'silent' }));
  answerClientErrorsInJson(httpServer, config.http.maxHeaderBytes);
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  const shutdown = createShutdown({
    drain,
    drainDelayMs: config.http.drainDelayMs,
    logger,
    // Spans accepted into the queue are written before the database closes.
    afterDrain: [() => services.ingest?.stop(), () => apollo.stop()],
  });
  return { httpServer, apollo, authenticator, shutdown };
}

export type { BaseContext };
