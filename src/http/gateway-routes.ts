import type { ApolloServer } from '@apollo/server';
import type { Authenticator } from '../auth/authenticator';
import type { AppServices, RequestContext } from '../context';
import { databaseProbes, type ReadinessProbe } from '../health';
import { createPlaygroundHandler } from '../playground/playground-handler';
import { createDownloadHandler, isDownloadPath } from '../modules/exports/download-route';
import { graphqlRoute } from './graphql-route';
import { livenessRoute, readinessRoute } from './health-route';
import { metricsRoute } from './metrics-route';
import { exactPath, type Route } from './router';
import { sendJson } from './respond';
import { serviceIndexRoute } from './service-index';

export interface GatewayRouteDeps {
  readonly services: AppServices;
  readonly apollo: ApolloServer<RequestContext>;
  readonly authenticator: Authenticator;
  readonly limitsMode: () => string;
  readonly draining: () => boolean;
  /** Readiness probes beside the database's (Redis, the export queue). */
  readonly extraProbes: readonly ReadinessProbe[];
}

/** `/metrics` on the public port, unless METRICS_PORT or the config's exposure rule (telemetry section) keeps it off. */
function publicMetricsRoute(services: AppServices): Route | null {
  const metrics = services.config.telemetry.metrics;
  if (!metrics.enabled || metrics.onPublicPort === 'off') return null;
  return exactPath('/metrics', metricsRoute(metrics.onPublicPort === 'token' ? { mode: 'token', token: metrics.token! } : { mode: 'open' }));
}

/** The public listener's routes, in the order they are tried. */
export function gatewayRoutes(deps: GatewayRouteDeps): Route[] {
  const { services } = deps;
  const { config, database } = services;
  const playground = createPlaygroundHandler({ enabled: config.playground.enabled });
  const download = createDownloadHandler({ database, authenticator: deps.authenticator, exports: services.exports, logger: services.logger }, sendJson);
  const probes = [...databaseProbes(database), ...deps.extraProbes];
  const routes: Array<Route | null> = [
    // The bundled GraphiQL; GET /graphql from a browser navigation (Accept: text/html) gets it too.
    { matches: (req, url) => playground.handles(req, url), handle: (req, res, url) => playground.serve(req, res, url) },
    { matches: (_req, url) => isDownloadPath(url.pathname), handle: (req, res, url) => download(req, res, url) },
    exactPath('/graphql', graphqlRoute({ apollo: deps.apollo, authenticator: deps.authenticator, services, limits: config.http })),
    services.ingest ? exactPath('/v1/traces', (req, res, _url, requestId) => services.ingest!.receiver.handle(req, res, requestId)) : null,
    exactPath('/health/live', livenessRoute()),
    exactPath('/health/ready', readinessRoute({ probes, timeoutMs: config.telemetry.healthCheckTimeoutMs, draining: deps.draining, limitsMode: deps.limitsMode })),
    publicMetricsRoute(services),
    exactPath('/', serviceIndexRoute({ playground: config.playground.enabled, otlp: Boolean(services.ingest) })),
  ];
  return routes.filter((r): r is Route => r !== null);
}
