import type http from 'node:http';
import type { ErrorCode } from '../shared/errors';

/** A JSON answer with its length set (the response-size metric reads it back from the headers). */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  // setHeader (not a writeHead argument) so that the response-size metric can read it back.
  res.setHeader('content-length', Buffer.byteLength(text));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

/** The GraphQL-shaped error body every refusal outside execution uses. */
export const errorBody = (message: string, code: ErrorCode, extra: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { code, ...extra } }],
});

/** What every route handler is called with; the request id is fixed before routing. */
export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) => unknown;
