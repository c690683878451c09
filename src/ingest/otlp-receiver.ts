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



export function createOtlpReceiver(deps: OtlpReceiverDeps) {
  const { authenticator, writer, prices, projects, logger, options } = deps;

  function send(res: http.ServerResponse, status: number, format: Format, body: Buffer | string, headers: Record<string, string> = {}) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.setHeader('content-length', buf.length);
    res.writeHead(status, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf', ...headers });
    res.end(buf);
  }

  function refuse(res: http.ServerResponse, format: Format, r: HttpRefusal, requestId: string) {
    send(res, r.status, format, encodeStatus(format, r.rpcCode, `${r.code}: ${r.message}`), { 'x-error-code': r.code, 'x-request-id': requestId, ...r.headers });
  }

  async function authenticate(req: http.IncomingMessage): Promise<Viewer> {
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

  /** Spans → rows, checking tenancy; nothing is written here. */
  async function toRows(viewer: Viewer, payload: readonly OtlpResourceSpans[], rejections: Rejections): Promise<{ rows: IngestRow[]; spans: number; skipped: number }> {
    await prices.ready();
    const mapping: MappingOptions = { nonLlmSpans: options.nonLlmSpans, maxContentChars: options.maxContentChars, maxAgeMs: options.maxAgeMs, maxFutureMs: options.maxFutureMs, now: Date.now() };
    const rows: IngestRow[] = [];
    const seen = new Set<string>();
    let spans = 0;
    let skipped = 0;
    for (const rs of payload) {
      const n = rs.scopes.reduce((acc, s) => acc + s.spans.length, 0);
      spans += n;
      if (n === 0) continue;
      const named = projectOfResource(rs.resource);
      const projectId = named ?? (viewer.projectIds?.length === 1 ? viewer.projectIds[0]! : null);
      if (!projectId) {
        reject(rejections, 'PROJECT_REQUIRED', `set the resource attribute ${PROJECT_ATTRIBUTE} (the key is not limited to one project)`, n);
        continue;
      }
      const inScope = (!viewer.projectIds || viewer.projectIds.includes(projectId)) && (await projects.has(viewer.orgId, projectId));
      if (!inScope) {
        // Another org's project and one that does not exist get the same answer.
        reject(rejections, 'PROJECT_FORBIDDEN', `project ${projectId.slice(0, 64)} is not a project this key may write to`, n);
        continue;
      }
      const service = rs.resource['service.name'];
      for (const scope of rs.scopes) {
        const ctx = { orgId: viewer.orgId, resource: rs.resource, scopeName: scope.scopeName, serviceName: typeof service === 'string' ? service : null };
        for (const span of scope.spans) {
          const r = mapSpan(span, ctx, prices.lookup, mapping);
          if (r.kind === 'skip') skipped++;
          else if (r.kind === 'reject') reject(rejections, r.code, r.message);
          else if (!seen.has(r.row.id)) {
            // The same span twice in one payload is one row.
            seen.add(r.row.id);
            rows.push({ ...r.row, org_id: viewer.orgId, project_id: projectId });
          }
        }
      }
    }
    return { rows, spans, skipped };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<IngestOutcome | null> {
    let decodedSpans = 0;
    const result = await handleRequest(req, res, requestId, (n) => (decodedSpans = n));
    deps.onOutcome?.(result ? { ...result, refused: 0 } : { accepted: 0, rejected: 0, skipped: 0, refused: decodedSpans });
    return result;
  }

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse, requestId: string, decoded: (spans: number) => void): Promise<IngestOutcome | null> {
    const format = formatOf(req.headers['content-type']);
    const replyFormat: Format = format ?? 'json';
    try {
      if ((req.method ?? '').toUpperCase() !== 'POST') {
        req.resume();
        throw new HttpRefusal(405, 'BAD_REQUEST', 'use POST', RPC.INVALID_ARGUMENT, { allow: 'POST' });
      }
      const viewer = await authenticate(req);
      if (!format) {
        req.resume();
        throw new HttpRefusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/x-protobuf or application/json', RPC.INVALID_ARGUMENT);
      }
      const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (encoding !== 'gzip' && encoding !== 'identity' && encoding !== '') {
        req.resume();
        throw new HttpRefusal(415, 'UNSUPPORTED_MEDIA_TYPE', `content-encoding ${encoding.slice(0, 32)} is not supported (gzip or none)`, RPC.INVALID_ARGUMENT);
      }
      let body = await readLimited(req, options.maxBodyBytes);
      if (encoding === 'gzip') body = await gunzipLimited(body, options.maxBodyBytes);
      let payload: OtlpResourceSpans[];
      try {
        payload = format === 'protobuf' ? decodeProtobufRequest(body) : decodeJsonRequest(body.toString('utf8'));
      } catch (err) {
        if (err instanceof OtlpDecodeError) throw new HttpRefusal(400, 'BAD_REQUEST', err.message.slice(0, 500), RPC.INVALID_ARGUMENT);
        throw err;
      }
      decoded(payload.reduce((a, rs) => a + rs.scopes.reduce((b, sc) => b + sc.spans.length, 0), 0));
      const rejections: Rejections = { total: 0, byCode: new Map() };
      const { rows, spans, skipped } = await toRows(viewer, payload, rejections);
      try {
        await writer.write(rows);
      } catch (err) {
        if (err instanceof WriterSaturated) {
          throw new HttpRefusal(429, 'RATE_LIMITED', 'the ingestion queue is full; retry after the indicated delay', RPC.RESOURCE_EXHAUSTED, { 'retry-after': String(err.retryAfterSeconds) });
        }
        if (err instanceof WriterStopped) throw new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the gateway is shutting down; retry on another instance', RPC.UNAVAILABLE, { 'retry-after': '1' });
        // The batch was not written (one statement: nothing of it is). Never a 500: the exporter retries.
        logger.warn({ err, requestId, rows: rows.length }, 'ingest write failed');
        throw new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the spans could not be written; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' });
      }
      const partial = rejections.total > 0 ? { rejectedSpans: rejections.total, errorMessage: describe(rejections, spans) } : null;
      send(res, 200, format, encodeExportResponse(format, partial), { 'x-request-id': requestId });
      return { accepted: rows.length, rejected: rejections.total, skipped };
    } catch (err) {
      // A body left unread would stall a keep-alive connection: drain it.
      if (!req.readableEnded) req.resume();
      if (err instanceof HttpRefusal) {
        refuse(res, replyFormat, err, requestId);
        return null;
      }
      const coded = fromDatabaseError(err);
      if (coded) {
        refuse(res, replyFormat, new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' }), requestId);
        return null;
      }
      logger.error({ err, requestId }, 'OTLP ingest failed');
      refuse(res, replyFormat, new HttpRefusal(503, 'SERVICE_UNAVAILABLE', 'the spans could not be processed; retry shortly', RPC.UNAVAILABLE, { 'retry-after': '5' }), requestId);
      return null;
    }
  }

  return { handle };
}

export type OtlpReceiver = ReturnType<typeof createOtlpReceiver>;
