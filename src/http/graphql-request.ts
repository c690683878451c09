import type http from 'node:http';
import { ErrorCode } from '../shared/errors';
import { BodyTooLarge, readBody } from './body';
import { findInputProblem } from './input-guards';
import { jsonContentTypeRefusal } from './media-type';
import { errorBody, sendJson } from './respond';

export interface GraphQLRequestLimits {
  readonly maxBodyBytes: number;
  readonly maxVariablesDepth: number;
}

/** A request that passed the boundary checks: what Apollo is handed. */
export interface CheckedGraphQLRequest {
  readonly method: 'GET' | 'POST';
  readonly body: unknown;
}

/** The parts of a GET request Apollo decodes itself, decoded the same way for the boundary checks. */
export function getParameters(url: URL): Record<string, unknown> {
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

export function inputRefusal(body: unknown, maxDepth: number): { message: string; extra: Record<string, unknown> } | null {
  const problem = findInputProblem(body, maxDepth);
  if (!problem) return null;
  if (problem.kind === 'depth') return { message: `The request nests deeper than ${problem.limit} levels`, extra: { limit: problem.limit } };
  return { message: `Strings may not contain the NUL character (U+0000)${problem.path ? ` (at ${problem.path.slice(0, 100)})` : ''}`, extra: {} };
}

/** The POST body, parsed; null once a refusal (413, 415, 400) has been sent. */
async function readJsonBody(req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number): Promise<{ body: unknown } | null> {
  let text: string;
  try {
    text = await readBody(req, maxBodyBytes);
  } catch (err) {
    if (!(err instanceof BodyTooLarge)) throw err;
    sendJson(res, 413, errorBody(`Request body exceeds ${maxBodyBytes} bytes`, ErrorCode.PAYLOAD_TOO_LARGE, { limit: maxBodyBytes }), { connection: 'close' });
    return null;
  }
  const refusal = jsonContentTypeRefusal(req.headers['content-type']);
  if (refusal) {
    sendJson(res, 415, errorBody(refusal, ErrorCode.BAD_REQUEST));
    return null;
  }
  try {
    return { body: text.length ? JSON.parse(text) : undefined };
  } catch {
    sendJson(res, 400, errorBody('Request body is not valid JSON', ErrorCode.BAD_REQUEST));
    return null;
  }
}

/**
 * The checks at the HTTP boundary, before Apollo sees the request: method, body size, media
 * type, JSON, nesting depth and NUL characters. Null once the refusal has been sent.
 */
export async function checkGraphQLRequest(req: http.IncomingMessage, res: http.ServerResponse, url: URL, limits: GraphQLRequestLimits): Promise<CheckedGraphQLRequest | null> {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'POST') {
    sendJson(res, 405, errorBody('Use GET or POST', ErrorCode.BAD_REQUEST), { allow: 'GET, POST' });
    return null;
  }
  let body: unknown = undefined;
  if (method === 'POST') {
    const read = await readJsonBody(req, res, limits.maxBodyBytes);
    if (!read) return null;
    body = read.body;
  }
  const input = inputRefusal(method === 'POST' ? body : getParameters(url), limits.maxVariablesDepth);
  if (input) {
    sendJson(res, 400, errorBody(input.message, ErrorCode.BAD_USER_INPUT, input.extra));
    return null;
  }
  return { method, body };
}
