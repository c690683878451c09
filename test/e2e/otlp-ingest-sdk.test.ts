import { spawn } from 'node:child_process';
import type { RunningGateway } from '../../src/app';
import { refreshRollups } from '../../src/db/rollup-refresh';
import { gql, startTestGateway } from '../support/gateway';

/**
 * A real client: an application instrumented with the OpenTelemetry JS SDK, exporting through
 * its stock OTLP/HTTP exporters (protobuf, then JSON) with nothing but an endpoint and a key.
 * The calls it makes then appear, field by field, in traces, trace(id), performance and costs.
 */

const TRACE_FIELDS = `id traceId spanId parentSpanId projectId provider model operation userId sessionId environment
  statusCode status errorType durationMs ttftMs promptTokens completionTokens cachedTokens totalTokens
  promptCostUsd completionCostUsd totalCostUsd input output metadata`;

/** Runs test/support/genai-app.ts as its own process, configured by OTEL_* variables only. */
function runInstrumentedApp(env: Record<string, string>, calls: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/genai-app.ts', JSON.stringify(calls)], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`genai-app exited ${code}: ${err.slice(0, 2000)}`))));
  });
}

describe('OTLP ingestion from an OpenTelemetry SDK application', () => {
  let gw: RunningGateway;
  let base: string;
  let admin: string;
  let orgId: string;
  let ingestKey: string;
  const PROJECT = 'otel-sdk-app';

  beforeAll(async () => {
    // The field cache is off so that each question here reads the rows, not an earlier answer.
    gw = await startTestGateway({ CACHE_ENABLED: 'false', DEMO_LIVE: 'false' });
    base = gw.url.replace(/\/graphql$/, '');
    const k = gw.demoKeys.find((d) => d.role === 'ADMIN')!;
    admin = k.key;
    orgId = k.orgId;
    const created = await gql(gw.url, admin, 'mutation($id: ID!, $name: String!) { createProject(id: $id, name: $name) { id name } }', { id: PROJECT, name: 'OTel SDK app' });
    expect(created.body.errors).toBeUndefined();
    // An ingest-only key limited to the new project: no resource attribute needed.
    const key = await gql(gw.url, admin, 'mutation($p: [ID!]) { createApiKey(name: "sdk-app", role: INGEST, projectIds: $p) { key } }', { p: [PROJECT] });
    expect(key.body.errors).toBeUndefined();
    ingestKey = key.body.data.createApiKey.key;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it.each(['protobuf', 'json'] as const)('exports over OTLP/HTTP %s and the calls read back field by field', async (protocol) => {
    const user = `user-${protocol}`;
    // Exactly what the README tells users to set.
    await runInstrumentedApp(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: base,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${ingestKey}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol === 'protobuf' ? 'http/protobuf' : 'http/json',
        OTEL_SERVICE_NAME: `chat-service-${protocol}`,
        OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=staging-${protocol}`,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
      [
        { model: 'gpt-4o', input: 1200, output: 300, cached: 200, user, session: `s-${protocol}` },
        { model: 'gpt-4o', input: 100, output: 0, user, session: `s-${protocol}`, error: true },
      ],
    );

    const listed = await gql(gw.url, admin, `query($f: TraceFilter) { traces(filter: $f, first: 10, orderBy: { field: TOKENS, direction: DESC }) { nodes { ${TRACE_FIELDS} } } }`, {
      f: { userIds: [user] },
    });
    expect(listed.body.errors).toBeUndefined();
    const nodes = listed.body.data.traces.nodes;
    // Two LLM calls; the HTTP spans of the same traces are not LLM calls and were dropped.
    expect(nodes).toHaveLength(2);
    const [ok, failed] = nodes;
    // gpt-4o in the demo's model_prices: 0.0025 / 0.01 / 0.00125 per 1k (prompt, completion, cached).
    const promptCost = Math.round((((1200 - 200) / 1000) * 0.0025 + (200 / 1000) * 0.00125) * 1e8) / 1e8;
    const completionCost = Math.round((300 / 1000) * 0.01 * 1e8) / 1e8;
    expect(ok).toMatchObject({
      projectId: PROJECT,
      provider: 'openai',
      model: 'gpt-4o-2024-08-06',
      operation: 'chat',
      userId: user,
      sessionId: `s-${protocol}`,
      environment: `staging-${protocol}`,
      statusCode: 200,
      status: 'OK',
      errorType: null,
      durationMs: 1200,
      ttftMs: 250,
      promptTokens: 1200,
      completionTokens: 300,
      cachedTokens: 200,
      totalTokens: 1500,
      parentSpanId: null,
    });
    expect(ok.promptCostUsd).toBeCloseTo(promptCost, 8);
    expect(ok.completionCostUsd).toBeCloseTo(completionCost, 8);
    expect(ok.totalCostUsd).toBeCloseTo(promptCost + completionCost, 8);
    expect(JSON.parse(ok.input)[0].parts[0].content).toBe(`question from ${user}`);
    expect(JSON.parse(ok.output)[0].parts[0].content).toBe('an answer');
    expect(ok.metadata).toMatchObject({ source: 'otlp', service: `chat-service-${protocol}`, scope: 'genai-test-app', span_name: 'chat gpt-4o', cost_source: 'model_prices' });
    expect(ok.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(ok.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(failed).toMatchObject({ statusCode: 500, status: 'ERROR', errorType: 'rate_limit', promptTokens: 100, completionTokens: 0, totalTokens: 100 });

    const one = await gql(gw.url, admin, `query($id: ID!) { trace(id: $id) { ${TRACE_FIELDS} project { id name } related { id } } }`, { id: ok.id });
    expect(one.body.errors).toBeUndefined();
    expect(one.body.data.trace).toMatchObject({ ...ok, project: { id: PROJECT, name: 'OTel SDK app' } });
    expect(one.body.data.trace.related.map((r: any) => r.id)).toEqual([ok.id]);

    // Aggregations: the rows are newer than the rollups' last refresh, so raw rows answer at
    // once; after a refresh the rollups carry them and the answer is the same.
    const report = `query($f: TraceFilter) {
      performance(range: { last: "1h" }, filter: $f) { totals { requestCount errorCount ttftAvgMs promptTokens completionTokens latency { maxMs } } }
      costs(range: { last: "1h" }, filter: $f) { totals { requestCount totalUsd promptUsd completionUsd cachedTokens totalTokens } }
    }`;
    const f = { environments: [`staging-${protocol}`] };
    const check = async () => {
      const r = await gql(gw.url, admin, report, { f });
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.performance.totals).toMatchObject({ requestCount: 2, errorCount: 1, promptTokens: 1300, completionTokens: 300, latency: { maxMs: 1200 } });
      expect(r.body.data.performance.totals.ttftAvgMs).toBeCloseTo(250, 6);
      expect(r.body.data.costs.totals).toMatchObject({ requestCount: 2, cachedTokens: 200, totalTokens: 1600 });
      const failedCost = Math.round((100 / 1000) * 0.0025 * 1e8) / 1e8;
      expect(r.body.data.costs.totals.totalUsd).toBeCloseTo(promptCost + completionCost + failedCost, 8);
    };
    await check();
    await refreshRollups(gw.services.database);
    await check();
    void orgId;
  });

  it('the ingest-only key reads nothing back', async () => {
    const r = await gql(gw.url, ingestKey, '{ traces(first: 1) { nodes { id } } }');
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(r.body.data?.traces ?? null).toBeNull();
    const v = await gql(gw.url, ingestKey, '{ viewer { orgId } }');
    expect(v.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
