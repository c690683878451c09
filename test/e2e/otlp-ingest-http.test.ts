import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { gql, startTestGateway } from '../support/gateway';
import { hexId, otlpJson, otlpProtobuf, postTraces, type SpanSpec } from '../support/otlp';

/**
 * POST /v1/traces at the HTTP level: the OTLP answers (200 / partial_success, 400, 413, 415,
 * 401/403), retries and duplicates, tenancy, content caps, and that a refused request writes
 * nothing and leaves the gateway healthy.
 */

const PB = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

const genai = (extra: Record<string, string | number> = {}): SpanSpec['attributes'] => ({
  'gen_ai.provider.name': 'anthropic',
  'gen_ai.request.model': 'claude-sonnet-4',
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 20,
  ...extra,
});

describe('OTLP /v1/traces over HTTP (embedded)', () => {
  let gw: RunningGateway;
  let base: string;
  let orgA: string;
  let projectA: string;
  let projectB: string;
  let ingestA: string;
  let viewerA: string;
  let billingA: string;
  let developerA: string;

  const rowsOf = async (org: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces WHERE org_id = ${org} AND metadata->>'source' = 'otlp'`.execute(gw.services.database.db)).rows[0]!.n);

  beforeAll(async () => {
    gw = await startTestGateway({ CACHE_ENABLED: 'false', DEMO_LIVE: 'false', OTLP_MAX_BODY_BYTES: '262144', OTLP_MAX_CONTENT_CHARS: '1000' });
    base = gw.url.replace(/\/graphql$/, '');
    const db = gw.services.database.db;
    orgA = gw.demoKeys.find((d) => d.role === 'ADMIN')!.orgId;
    viewerA = gw.demoKeys.find((d) => d.role === 'VIEWER')!.key;
    billingA = gw.demoKeys.find((d) => d.role === 'BILLING')!.key;
    developerA = gw.demoKeys.find((d) => d.role === 'DEVELOPER' && d.orgId === orgA)!.key;
    const orgB = gw.demoKeys.find((d) => d.orgId !== orgA)!.orgId;
    projectA = (await db.selectFrom('projects').select('id').where('org_id', '=', orgA).orderBy('id').executeTakeFirstOrThrow()).id;
    projectB = (await db.selectFrom('projects').select('id').where('org_id', '=', orgB).orderBy('id').executeTakeFirstOrThrow()).id;
    ingestA = (await createApiKey(db, { orgId: orgA, name: 'ingest-a', role: 'INGEST' })).key;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const resource = () => ({ 'service.name': 'edge-cases', 'observatory.project.id': projectA });

  it('accepts protobuf and JSON, gzip or not, with an empty ExportTraceServiceResponse', async () => {
    const before = await rowsOf(orgA);
    const payloads = [0, 1, 2, 3].map(() => otlpJson(resource(), [{ attributes: genai() }]));
    const answers = [
      await postTraces(base, ingestA, otlpProtobuf(payloads[0]!), PB),
      await postTraces(base, ingestA, gzipSync(otlpProtobuf(payloads[1]!)), { ...PB, 'content-encoding': 'gzip' }),
      await postTraces(base, ingestA, JSON.stringify(payloads[2]), JSON_CT),
      await postTraces(base, ingestA, gzipSync(JSON.stringify(payloads[3])), { ...JSON_CT, 'content-encoding': 'gzip' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers[0]!.headers.get('content-type')).toBe('application/x-protobuf');
    expect(answers[0]!.body.length).toBe(0); // no partial_success: an empty message
    expect(answers[2]!.json()).toEqual({});
    expect(await rowsOf(orgA)).toBe(before + 4);
  });

  it('retried and duplicated batches are stored once', async () => {
    const startMs = Date.now() - 2000;
    const spans: SpanSpec[] = Array.from({ length: 20 }, () => ({ traceId: hexId(16), spanId: hexId(8), startMs, attributes: genai() }));
    const body = otlpProtobuf(otlpJson(resource(), spans));
    const before = await rowsOf(orgA);
    // The exporter's retry, three concurrent copies, and the same span twice in one request.
    expect((await postTraces(base, ingestA, body, PB)).status).toBe(200);
    const again = await Promise.all([1, 2, 3].map(() => postTraces(base, ingestA, body, PB)));
    expect(again.map((a) => a.status)).toEqual([200, 200, 200]);
    // The same span twice in one request, sent as JSON this time (the encoding does not matter).
    const twice = otlpJson(resource(), [spans[0]!, spans[0]!]);
    expect((await postTraces(base, ingestA, JSON.stringify(twice), JSON_CT)).status).toBe(200);
    expect(await rowsOf(orgA)).toBe(before + 20);
  });

  it('a span re-sent with a different start time stays one row: the first one stored', async () => {
    // Embedded is TimescaleDB: the unique index has to include ts, the insert skips stored ids.
    const span: SpanSpec = { traceId: hexId(16), spanId: hexId(8), startMs: Date.now() - 5000, attributes: genai() };
    const before = await rowsOf(orgA);
    expect((await postTraces(base, ingestA, otlpProtobuf(otlpJson(resource(), [span])), PB)).status).toBe(200);
    const moved = { ...span, startMs: span.startMs! + 1500, durationMs: 900 };
    expect((await postTraces(base, ingestA, otlpProtobuf(otlpJson(resource(), [moved])), PB)).status).toBe(200);
    // Both versions in one request, and both in two concurrent requests.
    const both = otlpProtobuf(otlpJson(resource(), [{ ...span, startMs: span.startMs! - 700 }, moved]));
    expect((await Promise.all([postTraces(base, ingestA, both, PB), postTraces(base, ingestA, both, PB)])).map((a) => a.status)).toEqual([200, 200]);
    expect(await rowsOf(orgA)).toBe(before + 1);
    const { rows } = await sql<{ ts: Date; duration_ms: number }>`
      SELECT ts, duration_ms FROM traces WHERE trace_id = ${span.traceId} AND span_id = ${span.spanId}`.execute(gw.services.database.db);
    expect(rows).toHaveLength(1);
    expect(new Date(rows[0]!.ts).getTime()).toBe(Math.round(span.startMs!));
    expect(rows[0]!.duration_ms).toBe(500);
  });

  it('refuses undecodable payloads with 400 and writes nothing', async () => {
    const before = await rowsOf(orgA);
    const junk = await postTraces(base, ingestA, randomBytes(300), PB);
    expect(junk.status).toBe(400);
    expect(junk.headers.get('x-error-code')).toBe('BAD_REQUEST');
    const badJson = await postTraces(base, ingestA, '{"resourceSpans": [', JSON_CT);
    expect(badJson.status).toBe(400);
    expect(badJson.json()).toMatchObject({ code: 3, message: expect.stringMatching(/^BAD_REQUEST: /) });
    // One bad span id makes the whole request unreadable: its good span is not written either.
    const mixed = otlpJson(resource(), [{ attributes: genai() }, { spanId: 'zz', attributes: genai() }]);
    expect((await postTraces(base, ingestA, JSON.stringify(mixed), JSON_CT)).status).toBe(400);
    const notGzip = await postTraces(base, ingestA, Buffer.from('plain'), { ...PB, 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    expect(await rowsOf(orgA)).toBe(before);
  });

  it('refuses other content types and encodings with 415', async () => {
    const body = JSON.stringify(otlpJson(resource(), [{ attributes: genai() }]));
    const text = await postTraces(base, ingestA, body, { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.json().message).toMatch(/^UNSUPPORTED_MEDIA_TYPE: /);
    const br = await postTraces(base, ingestA, body, { ...JSON_CT, 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    const get = await fetch(`${base}/v1/traces`, { headers: { authorization: `Bearer ${ingestA}` } });
    expect(get.status).toBe(405);
  });

  it('refuses bodies over OTLP_MAX_BODY_BYTES with 413, compressed or once decompressed', async () => {
    const before = await rowsOf(orgA);
    const big = otlpJson(resource(), [{ attributes: genai({ 'gen_ai.prompt': 'x'.repeat(300_000) }) }]);
    const r = await postTraces(base, ingestA, JSON.stringify(big), JSON_CT);
    expect(r.status).toBe(413);
    expect(r.json().message).toMatch(/^PAYLOAD_TOO_LARGE: /);
    // 300 kB of one letter gzips to a few hundred bytes: the limit holds after decompression.
    const bomb = gzipSync(JSON.stringify(big));
    expect(bomb.length).toBeLessThan(10_000);
    expect((await postTraces(base, ingestA, bomb, { ...JSON_CT, 'content-encoding': 'gzip' })).status).toBe(413);
    expect(await rowsOf(orgA)).toBe(before);
  });

  it('rejects bad spans one by one in partial_success; the good ones are written', async () => {
    const before = await rowsOf(orgA);
    const good = { spanId: hexId(8), attributes: genai() };
    const payload = otlpJson(resource(), [
      good,
      { attributes: genai({ 'gen_ai.request.model': 'claude\u0000sonnet' }) },
      { attributes: genai({ 'gen_ai.prompt': 'a\u0000b' }) },
      { attributes: genai({ 'gen_ai.usage.input_tokens': -5 }) },
      { attributes: genai({ 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 50 }) },
      { startMs: Date.now() - 5 * 3_600_000, attributes: genai() },
      { attributes: genai({ 'user.id': 'u'.repeat(1000) }) },
    ]);
    const r = await postTraces(base, ingestA, otlpProtobuf(payload), PB);
    expect(r.status).toBe(200);
    // Decode the protobuf answer with the same definitions the SDK uses.
    const { decodeProtobufPartial } = await import('../support/otlp-response');
    const partial = decodeProtobufPartial(r.body);
    expect(partial.rejectedSpans).toBe(6);
    expect(partial.errorMessage).toMatch(/^6 of 7 spans rejected: /);
    expect(partial.errorMessage).toContain('INVALID_SPAN x5');
    expect(partial.errorMessage).toContain('NUL');
    expect(partial.errorMessage).toContain('SPAN_OUT_OF_RANGE x1');
    expect(await rowsOf(orgA)).toBe(before + 1);
    const stored = await gw.services.database.db.selectFrom('traces').select(['span_id', 'model']).where('org_id', '=', orgA).where('span_id', '=', good.spanId).execute();
    expect(stored).toEqual([{ span_id: good.spanId, model: 'claude-sonnet-4' }]);
  });

  it('caps content and flags the truncation in metadata', async () => {
    const spanId = hexId(8);
    const payload = otlpJson(resource(), [{ spanId, attributes: genai({ 'gen_ai.prompt': 'p'.repeat(5000), 'gen_ai.completion': 'short' }) }]);
    expect((await postTraces(base, ingestA, JSON.stringify(payload), JSON_CT)).status).toBe(200);
    const row = await gw.services.database.db.selectFrom('traces').select(['input', 'output', 'metadata']).where('org_id', '=', orgA).where('span_id', '=', spanId).executeTakeFirstOrThrow();
    expect(row.input).toBe('p'.repeat(1000));
    expect(row.output).toBe('short');
    expect(row.metadata).toMatchObject({ truncated: { input: 5000 } });
  });

  it('tenancy: the project comes from the resource or the key; foreign projects are rejected', async () => {
    const before = await rowsOf(orgA);
    // Another org's project and one that does not exist: the same rejection.
    for (const project of [projectB, 'no-such-project']) {
      const r = await postTraces(base, ingestA, JSON.stringify(otlpJson({ 'observatory.project.id': project }, [{ attributes: genai() }, { attributes: genai() }])), JSON_CT);
      expect(r.status).toBe(200);
      expect(r.json().partialSuccess).toEqual({ rejectedSpans: '2', errorMessage: expect.stringContaining('PROJECT_FORBIDDEN x2') });
    }
    // An org-wide key must name the project.
    const none = await postTraces(base, ingestA, JSON.stringify(otlpJson({ 'service.name': 'x' }, [{ attributes: genai() }])), JSON_CT);
    expect(none.json().partialSuccess.errorMessage).toContain('PROJECT_REQUIRED');
    // A key limited to one project needs no attribute, and cannot name another project.
    const db = gw.services.database.db;
    const projects = (await db.selectFrom('projects').select('id').where('org_id', '=', orgA).orderBy('id').execute()).map((p) => p.id);
    const scoped = (await createApiKey(db, { orgId: orgA, name: 'scoped', role: 'INGEST', projectIds: [projects[0]!] })).key;
    const implicit = await postTraces(base, scoped, JSON.stringify(otlpJson({}, [{ attributes: genai() }])), JSON_CT);
    expect(implicit.json()).toEqual({});
    const other = await postTraces(base, scoped, JSON.stringify(otlpJson({ 'observatory.project.id': projects[1]! }, [{ attributes: genai() }])), JSON_CT);
    expect(other.json().partialSuccess.errorMessage).toContain('PROJECT_FORBIDDEN');
    expect(await rowsOf(orgA)).toBe(before + 1);
    // Nothing reached the other org.
    const orgB = gw.demoKeys.find((d) => d.orgId !== orgA)!.orgId;
    expect(await rowsOf(orgB)).toBe(0);
  });

  it('keys: read-only roles cannot ingest; DEVELOPER can; no key is 401', async () => {
    const body = JSON.stringify(otlpJson(resource(), [{ attributes: genai() }]));
    for (const key of [viewerA, billingA]) {
      const r = await postTraces(base, key, body, JSON_CT);
      expect(r.status).toBe(403);
      expect(r.json()).toMatchObject({ code: 7, message: expect.stringMatching(/^FORBIDDEN: /) });
    }
    expect((await postTraces(base, null, body, JSON_CT)).status).toBe(401);
    expect((await postTraces(base, 'obs_ingest_nope', body, JSON_CT)).status).toBe(401);
    expect((await postTraces(base, developerA, body, JSON_CT)).status).toBe(200);
  });

  it('non-LLM spans are dropped by default (OTLP_NON_LLM_SPANS=drop)', async () => {
    const before = await rowsOf(orgA);
    const r = await postTraces(base, ingestA, JSON.stringify(otlpJson(resource(), [{ name: 'SELECT users', attributes: { 'db.system': 'postgresql' } }])), JSON_CT);
    expect(r.json()).toEqual({});
    expect(await rowsOf(orgA)).toBe(before);
  });

  it('stays healthy after all of the above', async () => {
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    const r = await gql(gw.url, developerA, '{ viewer { orgId } }');
    expect(r.body.data.viewer.orgId).toBe(orgA);
    // What happened is counted.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const value = (outcome: string) => Number(new RegExp(`^ingest_spans_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(value('accepted')).toBeGreaterThan(20);
    expect(value('rejected')).toBeGreaterThanOrEqual(6);
    expect(value('skipped')).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^ingest_queue_spans 0$/m);
    expect(metrics).toMatch(/^http_requests_total\{endpoint="\/v1\/traces",status="413"\} \d+$/m);
  });
});
