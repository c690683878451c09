import type http from 'node:http';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator';
import { can } from '../auth/permissions';
import type { Viewer } from '../auth/viewer';
import { AppError, fromDatabaseError } from '../shared/errors';
import {
  OtlpDecodeError,
  decodeJsonRequest,
  decodeProtobufRequest,
  encodeExportResponse,
  encodeStatus,
  type OtlpResourceSpans,
} from './otlp-decode';
import { mapSpan, projectOfResource, type MappingOptions, type NonLlmSpanRule } from './genai-mapping';
import type { IngestRow } from './ingest.repository';
import type { PriceBook } from './price-book';
import type { ProjectDirectory } from './project-directory';
import { WriterSaturated, WriterStopped, type SpanWriter } from './span-writer';

/**
 * POST /v1/traces, the OTLP/HTTP traces endpoint (https://opentelemetry.io/docs/specs/otlp/#otlphttp):
 * protobuf or JSON, gzip or not. Answers as the spec asks, so stock exporters retry exactly
 * what is worth retrying: 200 with `partial_success` for spans refused one by one, 400 for a
 * payload that cannot be read (not retried), 413 over the body limit, 429/503 with Retry-After
 * when the write path is saturated or the database is unavailable (retried). Error bodies are
 * google.rpc.Status in the request's encoding; the message starts with the gateway's code.
 */

/** Request-level codes (the HTTP status says the class) and span-level codes (in partial_success). */
export const IngestCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  // Per span:
  INVALID_SPAN: 'INVALID_SPAN',
  SPAN_OUT_OF_RANGE: 'SPAN_OUT_OF_RANGE',
  PROJECT_REQUIRED: 'PROJECT_REQUIRED',
  PROJECT_FORBIDDEN: 'PROJECT_FORBIDDEN',
} as const;
export type IngestCode = (typeof IngestCode)[keyof typeof IngestCode];

// google.rpc.Code values for the Status body.
const RPC = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

export interface OtlpReceiverOptions {
  readonly maxBodyBytes: number;
  readonly nonLlmSpans: NonLlmSpanRule;
  readonly maxContentChars: number;
  readonly maxAgeMs: number;
  readonly maxFutureMs: number;
}

export interface OtlpReceiverDeps {
  readonly authenticator: Authenticator;
  readonly writer: SpanWriter;
  readonly prices: PriceBook;
  readonly projects: ProjectDirectory;
  readonly logger: Logger;
  readonly options: OtlpReceiverOptions;
  /** Per request, for metrics. */
  readonly onOutcome?: (o: IngestOutcome & { refused: number }) => void;
}

type Format = 'protobuf' | 'json';

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: IngestCode,
    message: string,
    readonly rpcCode: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const PROJECT_ATTRIBUTE = 'observatory.project.id';

function formatOf(contentType: string | undefined): Format | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

function readLimited(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => new HttpRefusal(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${maxBytes} bytes`, RPC.INVALID_ARGUMENT);
    if (declared > maxBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        // Keep reading (and discarding) so the 413 reaches the client instead of a reset.
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
    });
  });
}

function gunzipLimited(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        reject(new HttpRefusal(413, 'PAYLOAD_TOO_LARGE', `decompressed body exceeds ${maxBytes} bytes`, RPC.INVALID_ARGUMENT));
      } else {
        reject(new HttpRefusal(400, 'BAD_REQUEST', 'body is not valid gzip', RPC.INVALID_ARGUMENT));
      }
    });
  });
}

interface Rejections {
  total: number;
  byCode: Map<string, { n: number; example: string }>;
}

function reject(r: Rejections, code: IngestCode, message: string, n = 1) {
  r.total += n;
  const e = r.byCode.get(code);
  if (e) e.n += n;
  else r.byCode.set(code, { n, example: message });
}

function describe(r: Rejections, spans: number): string {
  const parts = [...r.byCode].map(([code, { n, example }]) => `${code} x${n} (${example})`);
  const text = `${r.total} of ${spans} spans rejected: ${parts.join('; ')}`;
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}

export interface IngestOutcome {
  readonly accepted: number;
  readonly rejected: number;
  readonly skipped: number;
}

function send(res: http.ServerResponse, status: number, format: Format, body: Buffer | string, headers: Record<string, string> = {}) {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.setHeader('content-length', buf.length);
  res.writeHead(status, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf', ...headers });
  res.end(buf);
}

function refuse(res: http.ServerResponse, format: Format, r: HttpRefusal, requestId: string) {
  send(res, r.status, format, encodeStatus(format, r.rpcCode, `${r.code}: ${r.message}`), { 'x-error-code': r.code, 'x-request-id': requestId, ...r.headers });
}

/** The key's viewer, or a refusal: 401 without a valid key, 403 without INGEST, 503 when the database cannot say. */
async function authenticateIngest(authenticator: Authenticator, req: http.IncomingMessage): Promise<Viewer> {
  let viewer: Viewer | null;
  try {
    viewer = await authenticator.authenticate({ authorization: req.headers.authorization, apiKey: req.headers['x-api-key'] as string | undefined });
  } catch (err) {
    const coded = err instanceof AppError ? err : fromDatabaseError(err);
    if (coded?.extensions.code === 'SERVICE_UNAVAILABLE' || coded?.extensions.code === 'TIMEOUT') {
      throw new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the database cannot be reached to check the key; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' });
    }
    if (coded?.extensions.code === 'UNAUTHENTICATED') throw new HttpRefusal(401, 'UNAUTHENTICATED', coded.message, RPC.UNAUTHENTICATED);
    throw err;
  }
  if (!viewer) throw new HttpRefusal(401, 'UNAUTHENTICATED', 'a valid API key is required (Authorization: Bearer <key> or x-api-key)', RPC.UNAUTHENTICATED);
  if (!can(viewer.role, 'INGEST')) {
    throw new HttpRefusal(403, 'FORBIDDEN', `role ${viewer.role} may not ingest spans (needs the INGEST permission: roles INGEST, DEVELOPER or ADMIN)`, RPC.PERMISSION_DENIED);
  }
  return viewer;
}

function countSpans(rs: OtlpResourceSpans): number {
  return rs.scopes.reduce((acc, s) => acc + s.spans.length, 0);
}

/**
 * The project a resource's spans go to, or null after recording why its `n` spans are refused:
 * the resource must name one (unless the key is limited to exactly one) that the key may write to.
 */
async function projectForResource(viewer: Viewer, projects: ProjectDirectory, rs: OtlpResourceSpans, n: number, rejections: Rejections): Promise<string | null> {
  const named = projectOfResource(rs.resource);
  const projectId = named ?? (viewer.projectIds?.length === 1 ? viewer.projectIds[0]! : null);
  if (!projectId) {
    reject(rejections, 'PROJECT_REQUIRED', `set the resource attribute ${PROJECT_ATTRIBUTE} (the key is not limited to one project)`, n);
    return null;
  }
  const inScope = (!viewer.projectIds || viewer.projectIds.includes(projectId)) && (await projects.has(viewer.orgId, projectId));
  if (!inScope) {
    // Another org's project and one that does not exist get the same answer.
    reject(rejections, 'PROJECT_FORBIDDEN', `project ${projectId.slice(0, 64)} is not a project this key may write to`, n);
    return null;
  }
  return projectId;
}

interface MappedPayload {
  rows: IngestRow[];
  spans: number;
  skipped: number;
}

/** Spans → rows, checking tenancy; nothing is written here. */
async function toRows(deps: OtlpReceiverDeps, viewer: Viewer, payload: readonly OtlpResourceSpans[], rejections: Rejections): Promise<MappedPayload> {
  const { prices, projects, options } = deps;
  await prices.ready();
  const mapping: MappingOptions = { nonLlmSpans: options.nonLlmSpans, maxContentChars: options.maxContentChars, maxAgeMs: options.maxAgeMs, maxFutureMs: options.maxFutureMs, now: Date.now() };
  const out: MappedPayload = { rows: [], spans: 0, skipped: 0 };
  const seen = new Set<string>();
  for (const rs of payload) {
    const n = countSpans(rs);
    out.spans += n;
    if (n === 0) continue;
    const projectId = await projectForResource(viewer, projects, rs, n, rejections);
    if (!projectId) continue;
    const service = rs.resource['service.name'];
    for (const scope of rs.scopes) {
      const ctx = { orgId: viewer.orgId, resource: rs.resource, scopeName: scope.scopeName, serviceName: typeof service === 'string' ? service : null };
      for (const span of scope.spans) {
        const r = mapSpan(span, ctx, prices.lookup, mapping);
        if (r.kind === 'skip') out.skipped++;
        else if (r.kind === 'reject') reject(rejections, r.code, r.message);
        else if (!seen.has(r.row.id)) {
          // The same span twice in one payload is one row.
          seen.add(r.row.id);
          // The mapped row is ours alone: tenancy is added in place (a copy per span showed in profiles).
          out.rows.push(Object.assign(r.row, { org_id: viewer.orgId, project_id: projectId }));
        }
      }
    }
  }
  return out;
}

/** The format and content-encoding once both are acceptable; refuses (draining the body) otherwise. */
function checkContentType(req: http.IncomingMessage, format: Format | null): { format: Format; encoding: string } {
  if (!format) {
    req.resume();
    throw new HttpRefusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/x-protobuf or application/json', RPC.INVALID_ARGUMENT);
  }
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity' && encoding !== '') {
    req.resume();
    throw new HttpRefusal(415, 'UNSUPPORTED_MEDIA_TYPE', `content-encoding ${encoding.slice(0, 32)} is not supported (gzip or none)`, RPC.INVALID_ARGUMENT);
  }
  return { format, encoding };
}

function refuseNonPost(req: http.IncomingMessage): void {
  if ((req.method ?? '').toUpperCase() !== 'POST') {
    req.resume();
    throw new HttpRefusal(405, 'BAD_REQUEST', 'use POST', RPC.INVALID_ARGUMENT, { allow: 'POST' });
  }
}

/** Reads, decompresses and decodes the body within the size limit; an unreadable payload is a 400. */
async function readPayload(req: http.IncomingMessage, format: Format, encoding: string, maxBytes: number): Promise<OtlpResourceSpans[]> {
  let body = await readLimited(req, maxBytes);
  if (encoding === 'gzip') body = await gunzipLimited(body, maxBytes);
  try {
    return format === 'protobuf' ? decodeProtobufRequest(body) : decodeJsonRequest(body.toString('utf8'));
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new HttpRefusal(400, 'BAD_REQUEST', err.message.slice(0, 500), RPC.INVALID_ARGUMENT);
    throw err;
  }
}

/** Writes the batch, turning the writer's failures into retryable refusals (never a 500: the exporter retries). */
async function writeRows(deps: OtlpReceiverDeps, rows: IngestRow[], requestId: string): Promise<void> {
  try {
    await deps.writer.write(rows);
  } catch (err) {
    if (err instanceof WriterSaturated) {
      throw new HttpRefusal(429, 'RATE_LIMITED', 'the ingestion queue is full; retry after the indicated delay', RPC.RESOURCE_EXHAUSTED, { 'retry-after': String(err.retryAfterSeconds) });
    }
    if (err instanceof WriterStopped) throw new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the gateway is shutting down; retry on another instance', RPC.UNAVAILABLE, { 'retry-after': '1' });
    // The batch was not written (one statement: nothing of it is).
    deps.logger.warn({ err, requestId, rows: rows.length }, 'ingest write failed');
    throw new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the spans could not be written; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' });
  }
}

/** Any failure becomes a refusal: ours as they are, database errors and the unexpected as a retryable 503. */
function refuseFailure(deps: OtlpReceiverDeps, req: http.IncomingMessage, res: http.ServerResponse, format: Format, err: unknown, requestId: string): void {
  // A body left unread would stall a keep-alive connection: drain it.
  if (!req.readableEnded) req.resume();
  if (err instanceof HttpRefusal) {
    refuse(res, format, err, requestId);
    return;
  }
  if (fromDatabaseError(err)) {
    refuse(res, format, new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' }), requestId);
    return;
  }
  deps.logger.error({ err, requestId }, 'OTLP ingest failed');
  refuse(res, format, new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the spans could not be processed; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' }), requestId);
}

async function handleRequest(deps: OtlpReceiverDeps, req: http.IncomingMessage, res: http.ServerResponse, requestId: string, decoded: (spans: number) => void): Promise<IngestOutcome | null> {
  const contentFormat = formatOf(req.headers['content-type']);
  try {
    refuseNonPost(req);
    const viewer = await authenticateIngest(deps.authenticator, req);
    const { format, encoding } = checkContentType(req, contentFormat);
    const payload = await readPayload(req, format, encoding, deps.options.maxBodyBytes);
    decoded(payload.reduce((a, rs) => a + countSpans(rs), 0));
    const rejections: Rejections = { total: 0, byCode: new Map() };
    const { rows, spans, skipped } = await toRows(deps, viewer, payload, rejections);
    await writeRows(deps, rows, requestId);
    const partial = rejections.total > 0 ? { rejectedSpans: rejections.total, errorMessage: describe(rejections, spans) } : null;
    send(res, 200, format, encodeExportResponse(format, partial), { 'x-request-id': requestId });
    return { accepted: rows.length, rejected: rejections.total, skipped };
  } catch (err) {
    refuseFailure(deps, req, res, contentFormat ?? 'json', err, requestId);
    return null;
  }
}

export function createOtlpReceiver(deps: OtlpReceiverDeps) {
  async function handle(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<IngestOutcome | null> {
    let decodedSpans = 0;
    const result = await handleRequest(deps, req, res, requestId, (n) => (decodedSpans = n));
    deps.onOutcome?.(result ? { ...result, refused: 0 } : { accepted: 0, rejected: 0, skipped: 0, refused: decodedSpans });
    return result;
  }

  return { handle };
}

export type OtlpReceiver = ReturnType<typeof createOtlpReceiver>;
