import path from 'node:path';
import protobuf from 'protobufjs';

/**
 * OTLP/HTTP trace payloads → plain spans. Protobuf goes through protobufjs with the official
 * opentelemetry-proto definitions (vendored in proto/, v1.11.0); JSON follows the OTLP/JSON
 * rules (lowerCamelCase keys, hex trace and span ids, 64-bit integers as strings or numbers,
 * enums as integers). Both end in the same shape, so the mapping never knows the encoding.
 */

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

export interface OtlpEvent {
  readonly name: string;
  readonly timeMs: number;
  readonly attributes: Attributes;
}

export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Attributes;
  readonly events: readonly OtlpEvent[];
  /** 0 unset, 1 ok, 2 error (OTLP StatusCode). */
  readonly statusCode: number;
  readonly statusMessage: string;
}

export interface OtlpScopeSpans {
  readonly scopeName: string;
  readonly spans: readonly OtlpSpan[];
}

export interface OtlpResourceSpans {
  readonly resource: Attributes;
  readonly scopes: readonly OtlpScopeSpans[];
}

/** The payload cannot be read as an ExportTraceServiceRequest: HTTP 400. */
export class OtlpDecodeError extends Error {}

export const PROTO_DIR = path.resolve(__dirname, '..', '..', 'proto');

let requestType: protobuf.Type | undefined;
let responseType: protobuf.Type | undefined;

function loadTypes(): { request: protobuf.Type; response: protobuf.Type } {
  if (!requestType || !responseType) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTO_DIR, target);
    root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
    root.resolveAll();
    requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    responseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  }
  return { request: requestType, response: responseType };
}

/** Loads the definitions now (at start-up) rather than on the first request. */
export function preloadOtlpTypes(): void {
  loadTypes();
}

// ---------------------------------------------------------------------------------------------
// Protobuf

type Long = { low: number; high: number; toString(): string };
const isLong = (v: object): v is Long => typeof (v as Long).low === 'number' && typeof (v as Long).high === 'number';
const nanosToMs = (v: unknown): number => {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v / 1e6;
  if (typeof v === 'string') return stringNanosToMs(v);
  if (typeof v === 'object' && isLong(v)) return longNanosToMs(v);
  if (typeof v === 'object' && 'toString' in (v as object)) return stringNanosToMs((v as Long).toString());
  throw new OtlpDecodeError('a timestamp is not a number');
};

/**
 * A fixed64 of nanoseconds (protobufjs' Long: two 32-bit halves) → ms, exact to the microsecond
 * like stringNanosToMs, without Long#toString (a division loop, visible in profiles):
 * high·2³² + low = 1000·(high·4294967) + (high·296 + low), every term exact in a double.
 */
function longNanosToMs(v: Long): number {
  const high = v.high >>> 0;
  const low = v.low >>> 0;
  return (high * 4294967 + Math.floor((high * 296 + low) / 1000)) / 1000;
}

function stringNanosToMs(s: string): number {
  if (!/^\d{1,20}$/.test(s)) throw new OtlpDecodeError(`timestamp ${s.slice(0, 40)} is not an unsigned integer of nanoseconds`);
  // Exact to the microsecond: split before converting so no precision is lost above 2^53 ns.
  const micros = s.length > 3 ? Number(s.slice(0, -3)) : 0;
  return micros / 1000;
}

const hexOf = (b: unknown, what: string, bytes: number, optional: boolean): string | null => {
  if (b === undefined || b === null || (b as Uint8Array).length === 0) {
    if (optional) return null;
    throw new OtlpDecodeError(`a span has no ${what}`);
  }
  const buf = b as Uint8Array;
  if (buf.length !== bytes) throw new OtlpDecodeError(`a ${what} is ${buf.length} bytes, not ${bytes}`);
  const hex = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('hex');
  if (/^0+$/.test(hex)) {
    if (optional) return null;
    throw new OtlpDecodeError(`a ${what} is all zeroes`);
  }
  return hex;
};

function pbValue(v: any): AttrValue {
  if (!v) return null;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return typeof v.intValue === 'number' ? v.intValue : Number(v.intValue.toString());
    case 'doubleValue':
      return v.doubleValue;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(pbValue);
    case 'kvlistValue':
      return pbAttributes(v.kvlistValue?.values ?? []);
    case 'bytesValue':
      return Buffer.from(v.bytesValue).toString('base64');
    default:
      return null;
  }
}

function pbAttributes(list: any[]): Attributes {
  const out: Attributes = Object.create(null);
  for (const kv of list) if (kv && typeof kv.key === 'string') out[kv.key] = pbValue(kv.value);
  return out;
}

export function decodeProtobufRequest(body: Uint8Array): OtlpResourceSpans[] {
  const { request } = loadTypes();
  let msg: any;
  try {
    msg = request.decode(body);
  } catch (err) {
    throw new OtlpDecodeError(`payload is not an OTLP ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  return (msg.resourceSpans ?? []).map((rs: any) => ({
    resource: pbAttributes(rs.resource?.attributes ?? []),
    scopes: (rs.scopeSpans ?? []).map((ss: any) => ({
      scopeName: ss.scope?.name ?? '',
      spans: (ss.spans ?? []).map(
        (s: any): OtlpSpan => ({
          traceId: hexOf(s.traceId, 'trace id', 16, false)!,
          spanId: hexOf(s.spanId, 'span id', 8, false)!,
          parentSpanId: hexOf(s.parentSpanId, 'parent span id', 8, true),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          attributes: pbAttributes(s.attributes ?? []),
          events: (s.events ?? []).map((e: any) => ({ name: e.name ?? '', timeMs: nanosToMs(e.timeUnixNano), attributes: pbAttributes(e.attributes ?? []) })),
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? '',
        }),
      ),
    })),
  }));
}

// ---------------------------------------------------------------------------------------------
// JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding)

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown, what: string): any[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${what} must be an array`);
  return v;
};

function jsonNanosToMs(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v / 1e6;
  if (typeof v === 'string') return stringNanosToMs(v);
  throw new OtlpDecodeError('a timestamp must be a string or number of nanoseconds');
}

function jsonHex(v: unknown, what: string, bytes: number, optional: boolean): string | null {
  if (v === undefined || v === null || v === '') {
    if (optional) return null;
    throw new OtlpDecodeError(`a span has no ${what}`);
  }
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(v)) {
    throw new OtlpDecodeError(`a ${what} must be ${bytes * 2} hex characters`);
  }
  if (/^0+$/.test(v)) {
    if (optional) return null;
    throw new OtlpDecodeError(`a ${what} is all zeroes`);
  }
  return v.toLowerCase();
}

function jsonValue(v: unknown, depth = 0): AttrValue {
  if (!isObj(v)) return null;
  if (depth > 16) throw new OtlpDecodeError('attribute values are nested too deeply');
  if ('stringValue' in v) {
    if (typeof v.stringValue !== 'string') throw new OtlpDecodeError('stringValue must be a string');
    return v.stringValue;
  }
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('intValue' in v) {
    const n = Number(v.intValue);
    if (!Number.isFinite(n) || (typeof v.intValue === 'string' && !/^-?\d+$/.test(v.intValue))) throw new OtlpDecodeError('intValue must be an integer');
    return n;
  }
  if ('doubleValue' in v) {
    const n = Number(v.doubleValue);
    if (Number.isNaN(n) && v.doubleValue !== 'NaN') throw new OtlpDecodeError('doubleValue must be a number');
    return n;
  }
  if ('arrayValue' in v) return list(v.arrayValue?.values, 'arrayValue.values').map((x) => jsonValue(x, depth + 1));
  if ('kvlistValue' in v) return jsonAttributes(v.kvlistValue?.values, depth + 1);
  if ('bytesValue' in v) return typeof v.bytesValue === 'string' ? v.bytesValue : null;
  return null;
}

function jsonAttributes(v: unknown, depth = 0): Attributes {
  const out: Attributes = Object.create(null);
  for (const kv of list(v, 'attributes')) {
    if (!isObj(kv) || typeof kv.key !== 'string') throw new OtlpDecodeError('an attribute has no string key');
    out[kv.key] = jsonValue(kv.value, depth);
  }
  return out;
}

const intOf = (v: unknown, what: string): number => {
  if (v === undefined || v === null) return 0;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new OtlpDecodeError(`${what} must be an integer`);
  return n;
};

export function decodeJsonRequest(text: string): OtlpResourceSpans[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new OtlpDecodeError('payload is not valid JSON');
  }
  if (!isObj(doc)) throw new OtlpDecodeError('payload must be a JSON object (ExportTraceServiceRequest)');
  return list(doc.resourceSpans, 'resourceSpans').map((rs) => {
    if (!isObj(rs)) throw new OtlpDecodeError('resourceSpans entries must be objects');
    return {
      resource: jsonAttributes(isObj(rs.resource) ? rs.resource.attributes : undefined),
      scopes: list(rs.scopeSpans, 'scopeSpans').map((ss) => {
        if (!isObj(ss)) throw new OtlpDecodeError('scopeSpans entries must be objects');
        return {
          scopeName: isObj(ss.scope) && typeof ss.scope.name === 'string' ? ss.scope.name : '',
          spans: list(ss.spans, 'spans').map((s): OtlpSpan => {
            if (!isObj(s)) throw new OtlpDecodeError('spans must be objects');
            const status = isObj(s.status) ? s.status : {};
            return {
              traceId: jsonHex(s.traceId, 'trace id', 16, false)!,
              spanId: jsonHex(s.spanId, 'span id', 8, false)!,
              parentSpanId: jsonHex(s.parentSpanId, 'parent span id', 8, true),
              name: typeof s.name === 'string' ? s.name : '',
              kind: intOf(s.kind, 'kind'),
              startMs: jsonNanosToMs(s.startTimeUnixNano),
              endMs: jsonNanosToMs(s.endTimeUnixNano),
              attributes: jsonAttributes(s.attributes),
              events: list(s.events, 'events').map((e) => {
                if (!isObj(e)) throw new OtlpDecodeError('events must be objects');
                return { name: typeof e.name === 'string' ? e.name : '', timeMs: jsonNanosToMs(e.timeUnixNano), attributes: jsonAttributes(e.attributes) };
              }),
              statusCode: intOf(status.code, 'status.code'),
              statusMessage: typeof status.message === 'string' ? status.message : '',
            };
          }),
        };
      }),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface PartialSuccess {
  readonly rejectedSpans: number;
  readonly errorMessage: string;
}

/** ExportTraceServiceResponse; partial_success only when something was rejected (as the spec asks). */
export function encodeExportResponse(format: 'protobuf' | 'json', partial: PartialSuccess | null): Buffer | string {
  const body = partial && partial.rejectedSpans > 0 ? { partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage } } : {};
  if (format === 'json') {
    return JSON.stringify(partial && partial.rejectedSpans > 0 ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {});
  }
  const { response } = loadTypes();
  return Buffer.from(response.encode(response.fromObject(body)).finish());
}

/** google.rpc.Status, the body of OTLP error responses (code 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, …). */
export function encodeStatus(format: 'protobuf' | 'json', rpcCode: number, message: string): Buffer | string {
  if (format === 'json') return JSON.stringify({ code: rpcCode, message });
  // Status { int32 code = 1; string message = 2; }: two fields, written directly with protobufjs' writer.
  const w = protobuf.Writer.create();
  if (rpcCode) w.uint32(8).int32(rpcCode);
  if (message) w.uint32(18).string(message);
  return Buffer.from(w.finish());
}
