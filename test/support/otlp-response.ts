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
