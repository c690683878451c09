import path from 'node:path';
import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '../../src/ingest/otlp-decode';
import { MODELS } from '../../db/seed/catalog';

/** The OTLP/protobuf GenAI batches of bench:ingest and bench/ingest-db-profile.ts. */

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'string' ? { stringValue: v } : { intValue: v } });

export function loadRequestType(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => path.join(PROTO_DIR, t);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  return root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
}

/** One ExportTraceServiceRequest of `n` GenAI spans with fresh ids, starting around now. */
export function buildBatch(type: protobuf.Type, n: number, project: string): Buffer {
  const now = Date.now();
  const spans = Array.from({ length: n }, (_, i) => {
    const m = pick(MODELS);
    const start = now - 2000 - i;
    const input = 100 + Math.floor(Math.random() * 1500);
    return {
      traceId: randomBytes(16),
      spanId: randomBytes(8),
      name: `chat ${m.model}`,
      kind: 3,
      startTimeUnixNano: (BigInt(start) * 1_000_000n).toString(),
      endTimeUnixNano: (BigInt(start + 400 + Math.floor(Math.random() * 1500)) * 1_000_000n).toString(),
      attributes: [
        kv('gen_ai.provider.name', m.provider),
        kv('gen_ai.operation.name', 'chat'),
        kv('gen_ai.request.model', m.model),
        kv('gen_ai.response.model', m.model),
        kv('gen_ai.usage.input_tokens', input),
        kv('gen_ai.usage.output_tokens', 20 + Math.floor(Math.random() * 400)),
        kv('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `Summarise ticket ${randomBytes(6).toString('hex')}: the customer reports that the export page times out after a minute when the date range spans more than a quarter.` }] }])),
        kv('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Export times out for long ranges; suggest narrowing the range.' }] }])),
        kv('user.id', `user_${Math.floor(Math.random() * 500)}`),
        kv('session.id', `sess_${Math.floor(Math.random() * 2000)}`),
      ],
      status: { code: 1 },
    };
  });
  const msg = {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'bench-app'), kv('observatory.project.id', project), kv('deployment.environment.name', 'production')] },
        scopeSpans: [{ scope: { name: 'bench' }, spans }],
      },
    ],
  };
  return Buffer.from(type.encode(type.fromObject(msg)).finish());
}

