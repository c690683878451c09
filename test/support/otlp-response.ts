import path from 'node:path';
import protobuf from 'protobufjs';

let responseType: protobuf.Type | undefined;

/** ExportTraceServiceResponse bytes → its partial_success (zeros when absent). */
export function decodeProtobufPartial(body: Uint8Array): { rejectedSpans: number; errorMessage: string } {
  if (!responseType) {
    const root = new protobuf.Root();
    const dir = path.resolve(__dirname, '..', '..', 'proto');
    root.resolvePath = (_o, t) => path.join(dir, t);
    root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
    responseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  }
  const msg = responseType.toObject(responseType.decode(body), { longs: Number, defaults: true }) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } };
  return msg.partialSuccess ?? { rejectedSpans: 0, errorMessage: '' };
}

/** A google.rpc.Status error body (OTLP/HTTP failures), protobuf or JSON by its content type. */
export function decodeStatus(contentType: string, body: Buffer): { code: number; message: string } {
  if (contentType.startsWith('application/json')) return JSON.parse(body.toString('utf8'));
  // Status { int32 code = 1; string message = 2; } (details unused), read with protobufjs' reader.
  const r = protobuf.Reader.create(body);
  const out = { code: 0, message: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) out.code = r.int32();
    else if (tag >>> 3 === 2) out.message = r.string();
    else r.skipType(tag & 7);
  }
  return out;
}
