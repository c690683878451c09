import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../shared/errors';
import { endpointOf } from '../telemetry/labels';
import { callerTraceId, requestSpansEnabled, runInServerSpan } from '../telemetry/http-tracing';
import type { FinishedRequest } from './access-log';
import type { HttpDrain } from './drain';
import { errorBody, sendJson, type RouteHandler } from './respond';

export interface RequestHandlerDeps {
  readonly route: RouteHandler;
  readonly drain: Pick<HttpDrain, 'track'>;
  readonly record: (finished: FinishedRequest) => void;
  readonly logger: Logger;
  /** The access log is on: the caller's trace id is read even without a span of our own. */
  readonly accessLog: boolean;
}

/** The caller's x-request-id (at most 64 characters) or a fresh one. */
export const requestIdOf = (req: http.IncomingMessage): string =>
  (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 64)) || randomUUID();

/** Runs the route; an error that escapes it is logged and answered 500 (or the response ended). */
function runRoute(deps: RequestHandlerDeps, req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string, handled: () => void): void {
  let running: Promise<unknown>;
  try {
    running = Promise.resolve(deps.route(req, res, url, requestId));
  } catch (err) {
    running = Promise.reject(err);
  }
  running
    .catch((err) => {
      deps.logger.error({ err }, 'unhandled error in HTTP handler');
      if (!res.headersSent) sendJson(res, 500, errorBody('Internal server error', ErrorCode.INTERNAL_SERVER_ERROR));
      else res.end();
    })
    .finally(handled);
}

/**
 * What every request goes through around its route: drain accounting, request id, the server
 * span, the metric and access log line when it finishes, and a 500 for what the route throws.
 */
export function createRequestHandler(deps: RequestHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const handled = deps.drain.track(res);
    const started = performance.now();
    const requestId = requestIdOf(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const endpoint = endpointOf(url.pathname);
    let traceId: string | undefined;
    res.on('close', () => deps.record({ req, res, endpoint, requestId, started, traceId }));
    const handle = () => runRoute(deps, req, res, url, requestId, handled);
    // Probes and scrapes are not traced: every few seconds, they would only add noise.
    if (requestSpansEnabled() && (endpoint === '/graphql' || endpoint === 'other')) {
      traceId = runInServerSpan(req, res, endpoint, handle);
    } else {
      if (deps.accessLog) traceId = callerTraceId(req);
      handle();
    }
  };
}
