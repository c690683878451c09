import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '../shared/errors';
import { renderMetrics } from '../telemetry/metrics';
import { errorBody, sendJson, type RouteHandler } from './respond';

/** Constant-time comparison of a Bearer credential with the expected token. */
export function bearerIs(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function writeMetrics(res: http.ServerResponse): Promise<void> {
  const m = await renderMetrics();
  res.setHeader('content-length', Buffer.byteLength(m.body));
  res.writeHead(200, { 'content-type': m.contentType });
  res.end(m.body);
}

/**
 * `/metrics` on the public port. config (telemetry section) allows it there only behind a token or when only
 * this machine can reach it (`open`); with `off` the route is not mounted at all.
 */
export function metricsRoute(access: { mode: 'open' } | { mode: 'token'; token: string }): RouteHandler {
  return async (req, res) => {
    if (access.mode === 'token' && !bearerIs(req.headers.authorization, access.token)) {
      return sendJson(res, 401, errorBody('/metrics needs "Authorization: Bearer <METRICS_TOKEN>"', ErrorCode.UNAUTHENTICATED), { 'www-authenticate': 'Bearer' });
    }
    await writeMetrics(res);
  };
}
