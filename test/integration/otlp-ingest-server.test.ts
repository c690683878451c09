import pg from 'pg';
import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { refreshRollups } from '../../src/db/rollup-refresh';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { TcpProxy } from '../support/tcp-proxy';
import { decodeStatus } from '../support/otlp-response';
import { hexId, otlpJson, otlpProtobuf, postTraces, type SpanSpec } from '../support/otlp';

/**
 * Ingestion in server mode (plain PostgreSQL, two writers): concurrent and duplicated exports
 * land once each; a saturated write queue answers 429 with Retry-After and nothing it refused is
 * written; rollups pick the rows up on their refresh.
 */

const PB = { 'content-type': 'application/x-protobuf' };

describe('OTLP ingestion on PostgreSQL (server mode)', () => {
  let tdb: TestDatabase;
  let gw: RunningGateway;
  let base: string;
  let key: string;
  let admin: string;
  const ORG = 'org_ingest_srv';

  const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces WHERE org_id = ${ORG}`.execute(gw.services.database.db)).rows[0]!.n);

  beforeAll(async () => {
    tdb = await createTestDatabase('i15_ingest');
    gw = await startTestGateway({
      DATABASE_URL: tdb.url,
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '0',
      CACHE_ENABLED: 'false',
      OTLP_WRITERS: '2',
      OTLP_QUEUE_MAX_SPANS: '500',
      OTLP_BATCH_MAX_SPANS: '1000',
    });
    base = gw.url.replace(/\/graphql$/, '');
    const db = gw.services.database.db;
    await db.insertInto('orgs').values({ id: ORG, name: 'Ingest' }).execute();
    await db.insertInto('projects').values([{ id: 'srv-app', org_id: ORG, name: 'App' }]).execute();
    await db.insertInto('model_prices').values({ provider: 'openai', model: 'gpt-4o', prompt_usd_per_1k: 0.0025, completion_usd_per_1k: 0.01, cached_usd_per_1k: 0.00125, effective_from: '1970-01-01' }).execute();
    key = (await createApiKey(db, { orgId: ORG, name: 'ingest', role: 'INGEST', projectIds: ['srv-app'] })).key;
    admin = (await createApiKey(db, { orgId: ORG, name: 'admin', role: 'ADMIN' })).key;
  });
  afterAll(async () => {
    await gw?.stop();
    await tdb?.drop();
  });

  const batch = (n: number): Buffer => {
    const startMs = Date.now() - 3000;
    const spans: SpanSpec[] = Array.from({ length: n }, () => ({
      traceId: hexId(16),
      spanId: hexId(8),
      startMs,
      attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 },
    }));
    return otlpProtobuf(otlpJson({ 'service.name': 'srv' }, spans));
  };

  it('concurrent exports, each sent twice, are stored once each', async () => {
    // 10 × 50 spans: exactly what the queue holds (OTLP_QUEUE_MAX_SPANS=500), so none is refused.
    const bodies = Array.from({ length: 5 }, () => batch(50));
    const answers = await Promise.all([...bodies, ...bodies].map((b) => postTraces(base, key, b, PB)));
    expect(answers.map((a) => a.status)).toEqual(new Array(10).fill(200));
    expect(await count()).toBe(250);
    const costs = await gql(gw.url, admin, '{ costs(range: { last: "1h" }) { totals { requestCount promptTokens totalUsd } } }');
    expect(costs.body.data.costs.totals).toMatchObject({ requestCount: 250, promptTokens: 250_000 });
    expect(costs.body.data.costs.totals.totalUsd).toBeCloseTo(250 * (0.0025 + 0.001), 6);
    // Rollups fold the rows in on their refresh; the answer does not change.
    await refreshRollups(gw.services.database);
    const again = await gql(gw.url, admin, '{ costs(range: { last: "1h" }) { totals { requestCount promptTokens } } }');
    expect(again.body.data.costs.totals).toMatchObject({ requestCount: 250, promptTokens: 250_000 });
  });

  it('a span re-sent with a different start time stays one row, even from concurrent requests', async () => {
    const db = gw.services.database.db;
    const ix = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'traces' AND indexdef LIKE 'CREATE UNIQUE%'`.execute(db);
    expect(ix.rows.map((r) => r.indexdef)).toEqual([expect.stringMatching(/traces_id_uq ON public\.traces USING btree \(id\)$/)]);
    const before = await count();
    const traceId = hexId(16);
    const spanIds = Array.from({ length: 50 }, () => hexId(8));
    const body = (shiftMs: number) =>
      otlpProtobuf(otlpJson({ 'service.name': 'srv' }, spanIds.map((spanId) => ({ traceId, spanId, startMs: Date.now() - 4000 + shiftMs, attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' } }))));
    const answers = await Promise.all([0, 250, 500, 750].map((shift) => postTraces(base, key, body(shift), PB)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(await count()).toBe(before + 50);
    const { rows } = await sql<{ n: number }>`SELECT count(DISTINCT span_id)::int AS n FROM traces WHERE trace_id = ${traceId}`.execute(db);
    expect(rows[0]!.n).toBe(50);
  });

  it('a saturated queue answers 429 with Retry-After; what it refused is not written', async () => {
    const before = await count();
    // Hold the table so that the writers block, then fill the queue behind them.
    const locker = new pg.Client({ connectionString: tdb.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE traces IN ACCESS EXCLUSIVE MODE');
    const writer = gw.services.ingest!.writer;
    const waitFor = async (cond: () => boolean) => {
      for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      const inFlight = [postTraces(base, key, batch(200), PB), postTraces(base, key, batch(200), PB)];
      await waitFor(() => writer.stats.rows === 0 && writer.load() >= 0.8);
      expect(writer.load()).toBeGreaterThanOrEqual(0.8);
      const queued = postTraces(base, key, batch(100), PB);
      await waitFor(() => writer.load() >= 1);
      const refused = await postTraces(base, key, batch(100), PB);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('x-error-code')).toBe('RATE_LIMITED');
      await locker.query('COMMIT');
      const done = await Promise.all([...inFlight, queued]);
      expect(done.map((d) => d.status)).toEqual([200, 200, 200]);
    } finally {
      await locker.end();
    }
    expect(await count()).toBe(before + 500);
  });
});

describe('OTLP ingestion when the database is down', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let gw: RunningGateway;
  let base: string;
  let key: string;
  const ORG = 'org_ingest_down';

  beforeAll(async () => {
    tdb = await createTestDatabase('i15_ingest_down');
    proxy = new TcpProxy(5432);
    await proxy.start();
    gw = await startTestGateway({
      DATABASE_URL: tdb.url.replace(':5432/', `:${proxy.port}/`),
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '0',
      CACHE_ENABLED: 'false',
    });
    base = gw.url.replace(/\/graphql$/, '');
    const db = gw.services.database.db;
    await db.insertInto('orgs').values({ id: ORG, name: 'Down' }).execute();
    await db.insertInto('projects').values([{ id: 'down-app', org_id: ORG, name: 'App' }]).execute();
    key = (await createApiKey(db, { orgId: ORG, name: 'ingest', role: 'INGEST', projectIds: ['down-app'] })).key;
  });
  afterAll(async () => {
    await gw?.stop();
    await proxy?.stop();
    await tdb?.drop();
  });

  const spans = (n: number) =>
    Array.from({ length: n }, (): SpanSpec => ({ traceId: hexId(16), spanId: hexId(8), attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' } }));
  const stored = async () => {
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      return Number((await c.query('SELECT count(*) AS n FROM traces WHERE org_id = $1', [ORG])).rows[0].n);
    } finally {
      await c.end();
    }
  };

  it('answers 503 UNAVAILABLE with Retry-After (retryable), writes nothing, and takes the retry once the database is back', async () => {
    // The key is known (and the project checked) while the database is up.
    expect((await postTraces(base, key, otlpProtobuf(otlpJson({ 'service.name': 'srv' }, spans(1))), PB)).status).toBe(200);
    const payload = otlpJson({ 'service.name': 'srv' }, spans(20));
    await proxy.stop();
    for (const [body, headers] of [
      [otlpProtobuf(payload), PB],
      [JSON.stringify(payload), { 'content-type': 'application/json' }],
    ] as const) {
      const r = await postTraces(base, key, body, headers);
      expect(r.status).toBe(503);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('x-error-code')).toBe('SERVICE_UNAVAILABLE');
      const status = decodeStatus(r.headers.get('content-type')!, r.body);
      expect(status.code).toBe(14); // google.rpc.Code UNAVAILABLE: exporters retry it
      expect(status.message).toMatch(/^SERVICE_UNAVAILABLE: /);
      expect(status.message).not.toMatch(/ECONNREFUSED|connect|terminat|pg|postgres/i);
    }
    await proxy.start();
    const retried = await postTraces(base, key, otlpProtobuf(payload), PB);
    expect(retried.status).toBe(200);
    expect(await stored()).toBe(21);
  });
});
