import { decodeJsonRequest, decodeProtobufRequest } from '../../src/ingest/otlp-decode';
import { otlpJson, otlpProtobuf } from '../support/otlp';

/**
 * Timestamps of protobuf payloads (fixed64, a Long in protobufjs) are read from the Long's two
 * halves, not through its decimal string: the result must be the JSON path's (decimal strings,
 * exact to the microsecond) for any value, including ones above 2^53 ns and below 1000 ns.
 */
const NANOS = [
  '0',
  '999',
  '1000',
  '1764700000123456789',
  '1764700000123456999',
  '1764700000999999999',
  '4294967295999',
  '4294967296000',
  '9007199254740993123',
  '18446744073709551615',
];

function withStart(nanos: string): Record<string, unknown> {
  const json = otlpJson({}, [{ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) }]);
  const span = (json as any).resourceSpans[0].scopeSpans[0].spans[0];
  span.startTimeUnixNano = nanos;
  span.endTimeUnixNano = nanos;
  span.events = [{ name: 'e', timeUnixNano: nanos, attributes: [] }];
  return json;
}

describe('OTLP timestamps: protobuf and JSON agree to the microsecond', () => {
  it.each(NANOS)('%s ns', (nanos) => {
    const json = withStart(nanos);
    const fromJson = decodeJsonRequest(JSON.stringify(json))[0]!.scopes[0]!.spans[0]!;
    const fromPb = decodeProtobufRequest(otlpProtobuf(json))[0]!.scopes[0]!.spans[0]!;
    expect(fromPb.startMs).toBe(fromJson.startMs);
    expect(fromPb.endMs).toBe(fromJson.endMs);
    expect(fromPb.events[0]!.timeMs).toBe(fromJson.events[0]!.timeMs);
    // And the value itself: whole microseconds, as a decimal cut.
    const micros = nanos.length > 3 ? Number(nanos.slice(0, -3)) : 0;
    expect(fromPb.startMs).toBe(micros / 1000);
  });
});
