import { sql } from 'kysely';
import { gql } from '../support/gateway';
import { deepDifferences, startAnalyticsFixture, type AnalyticsFixture } from '../support/analytics-fixture';

/**
 * Issue 17 (a dashboard developer's first hour), against real storage in both modes: spans by
 * W3C trace id, calendar buckets in a time zone (checked against date_trunc over the raw rows),
 * filter values (checked against GROUP BY over the raw rows), unknown models in compareModels.
 */
const HOUR = 3_600_000;
const DAY = 86_400_000;
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const END = new Date(Math.floor(NOW.getTime() / HOUR) * HOUR - HOUR);
const iso = (ms: number) => new Date(ms).toISOString();

function parisMidnightBefore(t: number): number {
  // Paris is UTC+1 or +2: the last local midnight at or before t.
  for (let h = 0; h < 48; h++) {
    const c = Math.floor(t / HOUR) * HOUR - h * HOUR;
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(c));
    if (local === '00:00') return c;
  }
  throw new Error('no midnight');
}

describe.each(['postgres', 'embedded'] as const)('first-hour API (%s)', (mode) => {
  let f: AnalyticsFixture;
  let admin: string;
  let otherAdmin: string;
  let org: string;
  let otherOrg: string;
  const db = () => f.gw.services.database.db;
  const parisTo = parisMidnightBefore(END.getTime());
  const parisFrom = parisMidnightBefore(parisTo - 6 * DAY + 2 * HOUR);

  beforeAll(async () => {
    f = await startAnalyticsFixture(mode, { endAt: END, now: NOW, traces: 5000, days: 9 });
    [org, otherOrg] = f.orgs as [string, string];
    admin = f.keys[`${org}:ADMIN`]!;
    otherAdmin = f.keys[`${otherOrg}:ADMIN`]!;
  }, 600_000);
  afterAll(async () => {
    await f?.stop();
  });

  describe('trace by W3C trace id (item 1)', () => {
    it('trace(id:) takes a W3C trace id (any case) and answers the root span with its related spans', async () => {
      const { rows } = await sql<{ trace_id: string; n: number }>`
        SELECT trace_id, count(*)::int AS n FROM traces WHERE org_id = ${org} GROUP BY trace_id HAVING count(*) > 1 ORDER BY trace_id LIMIT 1`.execute(db());
      const t = rows[0]!;
      const root = (await sql<{ id: string }>`SELECT id FROM traces WHERE org_id = ${org} AND trace_id = ${t.trace_id} AND parent_span_id IS NULL`.execute(db())).rows;
      expect(root).toHaveLength(1);
      const r = await gql(f.gw.url, admin, 'query($id: ID!) { trace(id: $id) { id traceId parentSpanId related { id } } }', { id: t.trace_id.toUpperCase() });
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.trace).toMatchObject({ id: root[0]!.id, traceId: t.trace_id, parentSpanId: null });
      expect(r.body.data.trace.related).toHaveLength(t.n);

      const page = await gql(f.gw.url, admin, 'query($t: [String!]) { traces(filter: {traceIds: $t}, orderBy: {direction: ASC}, first: 100) { totalCount nodes { traceId } } }', { t: [t.trace_id] });
      expect(page.body.errors).toBeUndefined();
      expect(page.body.data.traces.totalCount).toBe(t.n);
      expect(page.body.data.traces.nodes.every((n: any) => n.traceId === t.trace_id)).toBe(true);

      // Tenant scope: another org sees nothing of it.
      const foreign = await gql(f.gw.url, otherAdmin, 'query($id: ID!, $t: [String!]) { trace(id: $id) { id } traces(filter: {traceIds: $t}) { nodes { id } } }', { id: t.trace_id, t: [t.trace_id] });
      expect(foreign.body.errors).toBeUndefined();
      expect(foreign.body.data).toEqual({ trace: null, traces: { nodes: [] } });
    });

    it('refuses malformed and all-zero trace ids with coded errors', async () => {
      const cases: [string, Record<string, unknown>][] = [
        ['query($id: ID!) { trace(id: $id) { id } }', { id: '0'.repeat(32) }],
        ['query($id: ID!) { trace(id: $id) { id } }', { id: 'ff29eae9' }],
        ['query($id: ID!) { trace(id: $id) { id } }', { id: 'zz'.repeat(16) }],
        ['query($t: [String!]) { traces(filter: {traceIds: $t}) { nodes { id } } }', { t: ['not-a-trace-id'] }],
        ['query($t: [String!]) { traces(filter: {traceIds: $t}) { nodes { id } } }', { t: ['0'.repeat(32)] }],
      ];
      for (const [q, v] of cases) {
        const r = await gql(f.gw.url, admin, q, v);
        expect(r.status).toBe(200);
        expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(r.body.errors?.[0]?.message).toMatch(/trace id|UUID/);
      }
    });
  });

  describe('time zones (item 2)', () => {
    const dayQuery = (tz: string, from = parisFrom, to = parisTo) =>
      `{ costs(range: {from: "${iso(from)}", to: "${iso(to)}"}, interval: DAY, timeZone: "${tz}") {
          timeZone plan { sources { source } } totals { requestCount totalUsd } series { timestamp stats { requestCount totalUsd } } } }`;

    it('day buckets in Europe/Paris match date_trunc over the raw rows, from hourly rollups', async () => {
      const r = await gql(f.gw.url, admin, dayQuery('Europe/Paris'));
      expect(r.body.errors).toBeUndefined();
      const c = r.body.data.costs;
      expect(c.timeZone).toBe('Europe/Paris');
      const sources = new Set(c.plan.sources.map((s: any) => s.source));
      // Org-wide, no project or environment in the question: the by-model rollups answer.
      expect(sources.has('traces_model_1hour')).toBe(true);
      expect([...sources].some((x) => /_1day$/.test(String(x)))).toBe(false);
      const { rows } = await sql<{ d: Date; n: number; usd: number }>`
        SELECT date_trunc('day', ts, 'Europe/Paris') AS d, count(*)::int AS n, sum(total_cost_usd)::float8 AS usd
          FROM traces WHERE org_id = ${org} AND ts >= ${new Date(parisFrom)} AND ts < ${new Date(parisTo)} GROUP BY 1 ORDER BY 1`.execute(db());
      const expected = new Map(rows.map((x) => [new Date(x.d).getTime(), x]));
      expect(c.series.length).toBeGreaterThanOrEqual(6);
      for (const p of c.series) {
        const e = expected.get(new Date(p.timestamp).getTime());
        expect(p.stats.requestCount).toBe(e?.n ?? 0);
        expect(p.stats.totalUsd).toBeCloseTo(e?.usd ?? 0, 6);
      }
      expect(c.series.reduce((a: number, p: any) => a + p.stats.requestCount, 0)).toBe(rows.reduce((a, x) => a + x.n, 0));
      // Every point is a Paris midnight.
      for (const p of c.series) expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(p.timestamp))).toBe('00:00');
    });

    it('a half-hour zone reads minute rollups; UTC still reads day rollups', async () => {
      const kolkata = await gql(f.gw.url, admin, dayQuery('Asia/Kolkata', END.getTime() - 5 * DAY, END.getTime()));
      expect(kolkata.body.errors).toBeUndefined();
      const ks = new Set(kolkata.body.data.costs.plan.sources.map((s: any) => s.source));
      expect([...ks].some((x) => /_1(day|hour)$/.test(String(x)))).toBe(false);
      const { rows } = await sql<{ d: Date; n: number }>`
        SELECT date_trunc('day', ts, 'Asia/Kolkata') AS d, count(*)::int AS n FROM traces
         WHERE org_id = ${org} AND ts >= ${new Date(END.getTime() - 5 * DAY)} AND ts < ${END} GROUP BY 1`.execute(db());
      const byDay = new Map(rows.map((x) => [new Date(x.d).getTime(), x.n]));
      for (const p of kolkata.body.data.costs.series) expect(p.stats.requestCount).toBe(byDay.get(new Date(p.timestamp).getTime()) ?? 0);
      const utc = await gql(f.gw.url, admin, dayQuery('UTC', Math.floor(END.getTime() / DAY) * DAY - 5 * DAY, Math.floor(END.getTime() / DAY) * DAY));
      expect(utc.body.data.costs.plan.sources.map((s: any) => s.source)).toContain('traces_model_1day');
    });

    it('MONTH buckets and a whole calendar month range (to = the first of next month)', async () => {
      const now = new Date();
      const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
      const r = await gql(f.gw.url, admin, `{ performance(range: {from: "${iso(from)}", to: "${iso(to)}"}, interval: MONTH) { interval totals { requestCount } series { timestamp stats { requestCount } } } }`);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.performance.interval).toBe('MONTH');
      expect(r.body.data.performance.series).toEqual([{ timestamp: iso(from), stats: { requestCount: r.body.data.performance.totals.requestCount } }]);
      const n = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = ${org} AND ts >= ${new Date(from)}`.execute(db())).rows[0]!.n;
      expect(r.body.data.performance.totals.requestCount).toBe(n);
    });

    it('quality series follow the zone too', async () => {
      const r = await gql(f.gw.url, admin, `{ quality(range: {from: "${iso(parisFrom)}", to: "${iso(parisTo)}"}, interval: DAY, timeZone: "Europe/Paris") { timeZone scores { name count series { timestamp count } } } }`);
      expect(r.body.errors).toBeUndefined();
      const s = r.body.data.quality.scores[0];
      expect(s.series.reduce((a: number, p: any) => a + p.count, 0)).toBe(s.count);
      const { rows } = await sql<{ d: Date; n: number }>`
        SELECT date_trunc('day', t.ts, 'Europe/Paris') AS d, count(*)::int AS n FROM scores s JOIN traces t ON t.id = s.trace_id AND t.org_id = s.org_id
         WHERE s.org_id = ${org} AND s.name = ${s.name} AND t.ts >= ${new Date(parisFrom)} AND t.ts < ${new Date(parisTo)} GROUP BY 1`.execute(db());
      const byDay = new Map(rows.map((x) => [new Date(x.d).getTime(), x.n]));
      for (const p of s.series) expect(p.count).toBe(byDay.get(new Date(p.timestamp).getTime()) ?? 0);
    });

    it("the gateway's local midnights are the database's, across DST changes (also at midnight)", async () => {
      const cases: [string, string, string, 'DAY' | 'WEEK' | 'MONTH'][] = [
        ['Europe/Paris', '2026-03-26T00:00:00Z', '2026-04-02T00:00:00Z', 'DAY'],
        ['Europe/Paris', '2026-10-22T00:00:00Z', '2026-10-29T00:00:00Z', 'DAY'],
        ['America/Santiago', '2026-09-03T00:00:00Z', '2026-09-10T00:00:00Z', 'DAY'],
        ['America/New_York', '2026-02-20T00:00:00Z', '2026-05-20T00:00:00Z', 'WEEK'],
        ['Australia/Lord_Howe', '2026-01-01T00:00:00Z', '2026-12-01T00:00:00Z', 'MONTH'],
      ];
      for (const [tz, from, to, interval] of cases) {
        const unit = interval.toLowerCase();
        const { rows } = await sql<{ d: Date }>`
          SELECT DISTINCT date_trunc(${unit}, t, ${tz}) AS d FROM generate_series(${new Date(from)}::timestamptz, ${new Date(to)}::timestamptz - interval '1 minute', interval '15 minutes') t ORDER BY 1`.execute(db());
        const { bucketStarts } = await import('../../src/query/calendar-buckets');
        expect([tz, bucketStarts(new Date(from), new Date(to), interval, tz).map((t) => new Date(t).toISOString())]).toEqual([tz, rows.map((r) => new Date(r.d).toISOString())]);
      }
    });

    it('an unknown time zone is a coded error of that field alone', async () => {
      const r = await gql(f.gw.url, admin, `{ viewer { orgId } costs(range: {last: "7d"}, interval: DAY, timeZone: "Mars/Olympus_Mons") { totals { requestCount } } }`);
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual({ viewer: { orgId: org }, costs: null });
      expect(r.body.errors?.[0]).toMatchObject({ path: ['costs'], extensions: { code: 'BAD_USER_INPUT', argument: 'timeZone' } });
    });
  });

  describe('filter values (item 3)', () => {
    const range = () => `{from: "${iso(END.getTime() - 7 * DAY)}", to: "${iso(END.getTime())}"}`;
    const expectedValues = async (orgId: string, column: string) =>
      (
        await sql<{ v: string; n: number }>`
          SELECT ${sql.ref(column)} AS v, count(*)::int AS n FROM traces
           WHERE org_id = ${orgId} AND ts >= ${new Date(END.getTime() - 7 * DAY)} AND ts < ${END} AND ${sql.ref(column)} IS NOT NULL
           GROUP BY 1 ORDER BY 2 DESC, 1`.execute(db())
      ).rows.map((r) => ({ value: r.v, requestCount: r.n }));

    it.each([
      ['MODEL', 'model'],
      ['PROVIDER', 'provider'],
      ['ENVIRONMENT', 'environment'],
      ['OPERATION', 'operation'],
      ['ERROR_TYPE', 'error_type'],
    ])('%s: every value with its request count, most first, tenant scoped', async (dimension, column) => {
      for (const [key, orgId] of [[admin, org], [otherAdmin, otherOrg]] as const) {
        const r = await gql(f.gw.url, key, `{ filterValues(dimension: ${dimension}, range: ${range()}) { dimension hasMore values { value requestCount } plan { sources { source } } } }`);
        expect(r.body.errors).toBeUndefined();
        const want = await expectedValues(orgId, column);
        expect(want.length).toBeGreaterThan(0);
        const got = r.body.data.filterValues.values;
        expect(new Set(got.map((x: any) => `${x.value}:${x.requestCount}`))).toEqual(new Set(want.map((x) => `${x.value}:${x.requestCount}`)));
        expect(got.map((x: any) => x.requestCount)).toEqual([...got.map((x: any) => x.requestCount)].sort((a, b) => b - a));
        expect(r.body.data.filterValues.hasMore).toBe(false);
        if (dimension !== 'OPERATION' && dimension !== 'ERROR_TYPE') expect(r.body.data.filterValues.plan.sources.map((s: any) => s.source)).not.toEqual(['traces']);
      }
    });

    it('top users: USER with first, hasMore, from the per-user rollups', async () => {
      const r = await gql(f.gw.url, admin, `{ filterValues(dimension: USER, range: ${range()}, first: 3) { hasMore values { value requestCount } plan { sources { source } } } }`);
      expect(r.body.errors).toBeUndefined();
      const want = await expectedValues(org, 'user_id');
      expect(want.length).toBeGreaterThan(3);
      expect(r.body.data.filterValues.hasMore).toBe(true);
      expect(r.body.data.filterValues.values.map((v: any) => v.requestCount)).toEqual(want.slice(0, 3).map((w) => w.requestCount));
      expect(r.body.data.filterValues.plan.sources.map((s: any) => s.source).some((s: string) => s.startsWith('traces_user_'))).toBe(true);
    });

    it('first out of range is a coded error of the field', async () => {
      const r = await gql(f.gw.url, admin, `{ filterValues(dimension: MODEL, range: ${range()}, first: 0) { values { value } } }`);
      expect(r.body.errors?.[0]).toMatchObject({ path: ['filterValues'], extensions: { code: 'BAD_USER_INPUT', argument: 'first' } });
    });
  });

  describe('compareModels and unknown models (item 3)', () => {
    it('a model only another org has called is unknown here, known there', async () => {
      const project = (await sql<{ id: string }>`SELECT id FROM projects WHERE org_id = ${otherOrg} ORDER BY id LIMIT 1`.execute(db())).rows[0]!.id;
      await sql`INSERT INTO traces (ts, id, trace_id, span_id, org_id, project_id, provider, model, duration_ms)
                VALUES (${new Date(Date.now() - 30_000)}, gen_random_uuid(), ${'ab'.repeat(16)}, ${'cd'.repeat(8)}, ${otherOrg}, ${project}, 'acme', 'org-b-private-model', 12)`.execute(db());
      // Newer than the rollups' last refresh: answered from the raw rows.
      const q = `{ compareModels(models: ["org-b-private-model"], range: {last: "1h"}) { models { model requestCount } } }`;
      const mine = await gql(f.gw.url, admin, q);
      expect(mine.body.errors?.[0]).toMatchObject({ path: ['compareModels'], extensions: { code: 'BAD_USER_INPUT', unknownModels: ['org-b-private-model'] } });
      const theirs = await gql(f.gw.url, otherAdmin, q);
      expect(theirs.body.errors).toBeUndefined();
      expect(theirs.body.data.compareModels.models).toEqual([{ model: 'org-b-private-model', requestCount: 1 }]);
    });
  });

  it('answers the same in both modes (recorded for the differential check)', async () => {
    const r = await gql(f.gw.url, admin, `{ costs(range: {from: "${iso(parisFrom)}", to: "${iso(parisTo)}"}, interval: WEEK, timeZone: "America/New_York", groupBy: [MODEL]) { series { timestamp stats { requestCount } } groups { key { model } series { timestamp stats { requestCount } } } } }`);
    expect(r.body.errors).toBeUndefined();
    answersByMode[mode] = r.body.data;
    if (answersByMode.postgres && answersByMode.embedded) expect(deepDifferences(answersByMode.embedded, answersByMode.postgres)).toEqual([]);
  });
});

const answersByMode: Record<string, unknown> = {};
