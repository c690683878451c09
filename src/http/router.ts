import type http from 'node:http';
import { ErrorCode } from '../shared/errors';
import { errorBody, sendJson, type RouteHandler } from './respond';

export interface Route {
  /** Whether this route answers the request; the first route that matches is the only one asked. */
  readonly matches: (req: http.IncomingMessage, url: URL) => boolean;
  readonly handle: RouteHandler;
}

/** A route for one exact path (any method: the handler refuses the methods it does not take). */
export const exactPath = (path: string, handle: RouteHandler): Route => ({ matches: (_req, url) => url.pathname === path, handle });

/**
 * Routes in order; a request no route matches gets a JSON 404. Routes that are off (ingest,
 * the public /metrics) are simply not in the list, so they answer 404 like any unknown path.
 */
export function createRouter(routes: readonly Route[]): RouteHandler {
  return async (req, res, url, requestId) => {
    const route = routes.find((r) => r.matches(req, url));
    if (route) return route.handle(req, res, url, requestId);
    sendJson(res, 404, errorBody(`No route for ${url.pathname}`, ErrorCode.NOT_FOUND));
  };
}
