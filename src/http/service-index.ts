import { sendJson, type RouteHandler } from './respond';

/** `/`: where things are, for a person with curl. */
export function serviceIndexRoute(mounted: { playground: boolean; otlp: boolean }): RouteHandler {
  const body = {
    service: 'analytics-gateway',
    graphql: '/graphql',
    ...(mounted.playground ? { playground: '/playground' } : {}),
    ...(mounted.otlp ? { otlpTraces: '/v1/traces' } : {}),
    health: ['/health/live', '/health/ready'],
  };
  return (_req, res) => sendJson(res, 200, body);
}
