import { sql } from 'kysely';
import { gql } from '../support/gateway';
import { startAnalyticsFixture, type AnalyticsFixture } from '../support/analytics-fixture';
import { buildTraces, insertTraces } from '../support/trace-builder';

const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const END = new Date(NOW.getTime() - 3_600_000);

describe('analytics API: bad input, timeouts and pagination under inserts (plain PostgreSQL)', () => {
  let f: AnalyticsFixture;
  let key: string;
  beforeAll(async () => {
    f = await startAnalyticsFixture('postgres', { endAt: END, now: NOW, traces: 6000, days: 5 });
    key = f.keys[`${f.orgs[0]}:ADMIN`]!;
  });
  afterAll(async () => {
    await f?.stop();
  });

  const codeOf = async (query: string, variables?: Record<string, unknown>) => {
    const r = await gql(f.gw.url, key, query, variables);
    expect(r.status).toBeLessThan(500);
    return r.body.errors?.[0]?.extensions?.code;
  };

  it.each([
    ['inverted range', '{ performance(range: {from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z"}) { totals { requestCount } } }', 'BAD_USER_INPUT'],
    ['range without an end', '{ costs(range: {from: "2026-11-02T00:00:00Z"}) { totals { totalUsd } } }', 'BAD_USER_INPUT'],
    ['empty range', '{ costs(range: {}) { totals { totalUsd } } }', 'BAD_USER_INPUT'],
    ['range beyond retention', '{ performance(range: {last: "400d"}) { totals { requestCount } } }', 'BAD_USER_INPUT'],
    ['both last and from', '{ performance(range: {last: "1h", from: "2026-11-02T00:00:00Z"}) { totals { requestCount } } }', 'BAD_USER_INPUT'],
    ['malformed relative range', '{ performance(range: {last: "yesterday"}) { totals { requestCount } } }', 'BAD_USER_INPUT'],
    ['too many series points', '{ performance(range: {last: "30d"}, interval: MINUTE) { series { timestamp } } }', 'BAD_USER_INPUT'],
    ['unknown enum value', '{ performance(range: {last: "1h"}, interval: FORTNIGHT) { totals { requestCount } } }', 'GRAPHQL_VALIDATION_FAILED'],
    ['repeated dimension', '{ performance(range: {last: "1h"}, groupBy: [MODEL, MODEL]) { totals { requestCount } } }', 'BAD_USER_INPUT'],
    ['time in the report filter', '{ costs(range: {last: "1h"}, filter: {last: "2h"}) { totals { totalUsd } } }', 'BAD_USER_INPUT'],
    ['huge first', '{ traces(first: 100000) { nodes { id } } }', 'BAD_USER_INPUT'],
    ['zero first', '{ sessions(first: 0) { nodes { id } } }', 'BAD_USER_INPUT'],
    ['malformed cursor', '{ traces(after: "eyJub3QiOiJhIGN1cnNvciJ9") { nodes { id } } }', 'BAD_USER_INPUT'],
    ['malformed session cursor', '{ sessions(after: "%%%") { nodes { id } } }', 'BAD_USER_INPUT'],
    ['short search', '{ searchTraces(query: "ab") { nodes { id } } }', 'BAD_USER_INPUT'],
    ['negative cost filter', '{ traces(filter: {minCostUsd: -1}) { nodes { id } } }', 'BAD_USER_INPUT'],
    ['too many models', `{ compareModels(models: [${Array.from({ length: 11 }, (_, i) => `"m${i}"`).join(',')}], range: {last: "1h"}) { models { model } } }`, 'BAD_USER_INPUT'],
    ['unknown export column', 'mutation { exportTraces(format: CSV, columns: ["ts", "password"]) { id } }', 'BAD_USER_INPUT'],
    ['unknown export format', 'mutation { exportTraces(format: XLSX) { id } }', 'GRAPHQL_VALIDATION_FAILED'],
    ['wrong variable type', 'query($n: Int) { traces(first: $n) { nodes { id } } }', 'BAD_USER_INPUT'],
  ])('%s → %s', async (_name, query, code) => {
    const vars = query.includes('$n') ? { n: 'ten' } : undefined;
    expect(await codeOf(query, vars)).toBe(code);
  });

  it('treats SQL metacharacters in filters and search as plain text', async () => {
    const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces`.execute(f.gw.services.database.db);
    for (const evil of ["x' OR '1'='1", "'; DROP TABLE traces; --", '%', '_', '\\']) {
      // Quoted: one phrase, whatever its spaces (a bare "OR" would be a refused 2-character term).
      const r = await gql(f.gw.url, key, 'query($v: String!, $q: String!) { traces(filter: {models: [$v], userIds: [$v]}) { nodes { id } } searchTraces(query: $q) { nodes { id } } }', {
        v: evil.padEnd(3, '%'),
        q: `"${evil.padEnd(3, '%')}"`,
      });
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.traces.nodes).toEqual([]);
    }
    // A literal % matches nothing in our data although LIKE would match everything.
    const pct = await gql(f.gw.url, key, '{ searchTraces(query: "%%%") { nodes { id } } }');
    expect(pct.body.data.searchTraces.nodes).toEqual([]);
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces`.execute(f.gw.services.database.db);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('finds traces by text in prompts, models and metadata, scoped to the org', async () => {
    const r = await gql(f.gw.url, key, '{ searchTraces(query: "GPT-4O", first: 5) { totalCount nodes { model } } }');
    expect(r.body.data.searchTraces.totalCount).toBeGreaterThan(0);
    const other = await gql(f.gw.url, f.keys[`${f.orgs[1]}:ADMIN`]!, '{ searchTraces(query: "gpt-4o", first: 1000) { nodes { id } } }');
    const ids = other.body.data.searchTraces.nodes.map((n: any) => n.id);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = ${f.orgs[0]!} AND id = ANY(${ids}::uuid[])`.execute(
      f.gw.services.database.db,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('visits every row exactly once across pages while rows are being inserted', async () => {
    const org = f.orgs[0]!;
    const db = f.gw.services.database.db;
    const existing = await sql<{ id: string }>`SELECT id FROM traces WHERE org_id = ${org} AND ts < ${END}`.execute(db);
    const seen = new Map<string, number>();
    let after: string | null = null;
    let round = 0;
    for (;;) {
      const r: any = await gql(
        f.gw.url,
        key,
        'query($after: Cursor) { traces(first: 250, after: $after, filter: {to: "' + END.toISOString() + '"}, orderBy: {field: COST, direction: DESC}) { nodes { id } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      expect(r.body.errors).toBeUndefined();
      for (const n of r.body.data.traces.nodes) seen.set(n.id, (seen.get(n.id) ?? 0) + 1);
      // Concurrent writers: new rows at every cost level inside the range, between pages.
      const rows = buildTraces(40, { from: new Date(END.getTime() - 4 * 86_400_000), to: END, seed: 1000 + round++, orgs: [org] }).map((t) => ({
        ...t,
        project_id: 'proj_acme_chatbot',
      }));
      await insertTraces(db, rows);
      if (!r.body.data.traces.pageInfo.hasNextPage) break;
      after = r.body.data.traces.pageInfo.endCursor;
    }
    for (const { id } of existing.rows) expect(seen.get(id)).toBe(1);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('turns a statement timeout into a TIMEOUT error', async () => {
    const slow = await startAnalyticsFixture('postgres', { endAt: END, now: NOW, traces: 30000, days: 5, env: { STATEMENT_TIMEOUT_AGGREGATE_MS: '1' } });
    try {
      const r = await gql(slow.gw.url, slow.keys[`${slow.orgs[0]}:ADMIN`]!, '{ performance(range: {last: "4d"}, groupBy: [USER, OPERATION, STATUS]) { groups { stats { requestCount latency { p99Ms } } } } }');
      expect(r.status).toBe(200);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
      expect(r.body.errors?.[0]?.message).not.toMatch(/canceling statement/);
    } finally {
      await slow.stop();
    }
  });
});
