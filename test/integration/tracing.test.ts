import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { loadConfig } from '../../src/config';
import { startTracing, type Tracing } from '../../src/telemetry/tracing';
import type { OpsGateway } from '../support/ops-gateway';

// Tracing starts before the gateway modules load (imported dynamically below), as in main.ts.
// Jest's module registry bypasses require hooks, so pg is not patched here: pg spans are
// checked through a real process in test/e2e/tracing-export.test.ts.
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let ops: OpsGateway;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  tracing = startTracing(loadConfig({ NODE_ENV: 'test' }), { spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const { startOpsGateway } = await import('../support/ops-gateway');
  const { createLogger } = await import('../../src/logger');
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const logger = createLogger({ logLevel: 'info', env: 'test' }, sink);
  ops = await startOpsGateway({ OTEL_SDK_DISABLED: 'false', ACCESS_LOG_LEVEL: 'info', LOG_LEVEL: 'info' }, { logger });
});
afterAll(async () => {
  await ops?.stop();
  await tracing?.shutdown();
});

const QUERY = 'query RecentTraces($n: Int) { traces(first: $n) { nodes { id model } } }';

async function post(headers: Record<string, string>) {
  const res = await fetch(ops.gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ops.key}`, ...headers },
    body: JSON.stringify({ query: QUERY, variables: { n: 3 } }),
  });
  expect(res.status).toBe(200);
  await res.text();
  await new Promise((r) => setTimeout(r, 30));
}

const spansOf = (traceId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);

describe('tracing', () => {
  it('continues the caller trace from a W3C traceparent header', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await post({ traceparent: `00-${traceId}-${parentId}-01` });

    const spans = spansOf(traceId);
    const op = spans.find((s) => s.name === 'query RecentTraces');
    expect(op).toBeDefined();
    expect(op!.attributes['graphql.operation.name']).toBe('RecentTraces');
    expect(op!.attributes['graphql.operation.type']).toBe('query');
    // The document text (and so any literal in it) is not recorded by default.
    expect(op!.attributes['graphql.document']).toBeUndefined();
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain('traces(first');

    // caller span -> HTTP server span -> GraphQL operation span
    const server = spans.find((s) => s.name === 'POST /graphql');
    expect(server).toBeDefined();
    expect(server!.kind).toBe(1); // SpanKind.SERVER
    expect(server!.parentSpanContext?.spanId).toBe(parentId);
    expect(server!.parentSpanContext?.isRemote).toBe(true);
    expect(op!.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
    expect(server!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 });
    expect(spans).toHaveLength(2);
  });

  it('does not trace probes and scrapes', async () => {
    exporter.reset();
    await (await fetch(`${ops.base}/health/ready`)).text();
    await (await fetch(`${ops.base}/metrics`)).text();
    await new Promise((r) => setTimeout(r, 30));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('starts a fresh trace without a traceparent, and marks failed operations', async () => {
    exporter.reset();
    const res = await fetch(ops.gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ops.key}` },
      body: JSON.stringify({ query: 'query Broken { trace(id: "not-a-uuid") { id } }' }),
    });
    await res.text();
    await new Promise((r) => setTimeout(r, 30));
    const op = exporter.getFinishedSpans().find((s) => s.name === 'query Broken');
    expect(op).toBeDefined();
    expect(op!.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(op!.events.map((e) => e.attributes?.['graphql.error.code'])).toEqual(['BAD_USER_INPUT']);
  });

  it('writes the request id and the trace id on the access log line', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await post({ traceparent: `00-${traceId}-b7ad6b7169203331-01`, 'x-request-id': 'req-trace-test' });
    const line = lines.find((l) => l.msg === 'request' && l.requestId === 'req-trace-test');
    expect(line).toMatchObject({ traceId, status: 200, path: '/graphql', method: 'POST', service: 'analytics-gateway' });
    expect(typeof line!.durationMs).toBe("number");
  });
});
