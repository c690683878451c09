import { randomBytes } from 'node:crypto';
import path from 'node:path';
import protobuf from 'protobufjs';

/** Hand-built OTLP payloads for the receiver's edge cases (the real SDK is used elsewhere). */

export type Attr = string | number | boolean | string[];
export interface SpanSpec {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  startMs?: number;
  durationMs?: number;
  attributes?: Record<string, Attr>;
  events?: { name: string; atMs?: number; attributes?: Record<string, Attr> }[];
  status?: { code: number; message?: string };
}

export const hexId = (bytes: number) => randomBytes(bytes).toString('hex');

const anyValue = (v: Attr): Record<string, unknown> =>
  Array.isArray(v)
    ? { arrayValue: { values: v.map(anyValue) } }
    : typeof v === 'string'
      ? { stringValue: v }
      : typeof v === 'boolean'
        ? { boolValue: v }
        : Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v };
const kvs = (attrs: Record<string, Attr> = {}) => Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }));
const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/** OTLP/JSON ExportTraceServiceRequest (hex ids, string nanos). */
export function otlpJson(resource: Record<string, Attr>, spans: SpanSpec[]): Record<string, unknown> {
  const now = Date.now();
  return {
    resourceSpans: [
      {
        resource: { attributes: kvs(resource) },
        scopeSpans: [
          {
            scope: { name: 'test-scope' },
            spans: spans.map((s) => {
              const start = s.startMs ?? now - 1000;
              return {
                traceId: s.traceId ?? hexId(16),
                spanId: s.spanId ?? hexId(8),
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name ?? 'chat',
                kind: 3,
                startTimeUnixNano: nanos(start),
                endTimeUnixNano: nanos(start + (s.durationMs ?? 500)),
                attributes: kvs(s.attributes),
                events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: nanos(e.atMs ?? start + 10), attributes: kvs(e.attributes) })),
                status: s.status ?? { code: 0 },
              };
            }),
          },
        ],
      },
    ],
  };
}

let requestType: protobuf.Type | undefined;
/** The same request as protobuf bytes (through protobufjs and the vendored protos). */
export function otlpProtobuf(json: Record<string, unknown>): Buffer {
  if (!requestType) {
    const root = new protobuf.Root();
    const dir = path.resolve(__dirname, '..', '..', 'proto');
    root.resolvePath = (_o, t) => path.join(dir, t);
    root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
    requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  }
  // protobufjs reads bytes fields from base64: convert the hex ids of the JSON form.
  const toB64 = (h: unknown) => (typeof h === 'string' ? Buffer.from(h, 'hex').toString('base64') : h);
  const copy = JSON.parse(JSON.stringify(json));
  for (const rs of copy.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
    s.traceId = toB64(s.traceId);
    s.spanId = toB64(s.spanId);
    if (s.parentSpanId) s.parentSpanId = toB64(s.parentSpanId);
  }
  return Buffer.from(requestType.encode(requestType.fromObject(copy)).finish());
}

export interface PostResult {
  status: number;
  headers: Headers;
  body: Buffer;
  json(): any;
}

export async function postTraces(base: string, key: string | null, body: Buffer | string, headers: Record<string, string>): Promise<PostResult> {
  const res = await fetch(`${base}/v1/traces`, { method: 'POST', headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, body });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body: buf, json: () => JSON.parse(buf.toString('utf8')) };
}
