import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';

describe('HTTP end to end on the embedded database with demo data', () => {
  let gw: RunningGateway;
  let admin: string;
  let otherOrgKey: string;
  let orgId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const adminKey = gw.demoKeys.find((k) => k.role === 'ADMIN')!;
    admin = adminKey.key;
    orgId = adminKey.orgId;
    otherOrgKey = gw.demoKeys.find((k) => k.orgId !== orgId)!.key;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('prints demo keys for every role', () => {
    expect(new Set(gw.demoKeys.filter((k) => k.orgId === orgId).map((k) => k.role))).toEqual(new Set(['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'INGEST']));
  });

  it('answers viewer for a demo key', async () => {
    const r = await gql(gw.url, admin, '{ viewer { orgId role projectIds keyName } }');
    expect(r.status).toBe(200);
    expect(r.body.data.viewer).toMatchObject({ orgId, role: 'ADMIN', projectIds: null });
  });

  it('refuses a wrong key with 401 UNAUTHENTICATED, and a missing one too', async () => {
    const wrong = await gql(gw.url, 'obs_admin_not-a-real-key', '{ viewer { orgId } }');
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const none = await gql(gw.url, null, '{ viewer { orgId } }');
    expect(none.status).toBe(401);
  });

  it("a dashboard's first hour (issue 17): exact money, ordered groups with other, interpolated p95, backward pages, multi-term search", async () => {
    const r = await gql(
      gw.url,
      admin,
      `{ costs(range: {last: "7d"}, groupBy: [MODEL], groupLimit: 2, groupOrder: {field: COST, direction: DESC}) {
           groupCount totals { totalUsd } groups { key { model } stats { totalUsd } } other { key { model } stats { totalUsd } } }
         performance(range: {last: "7d"}, groupBy: [PROJECT]) { plan { percentiles } totals { latency { p95Ms } } groups { stats { latency { p95Ms } } } } }`,
    );
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    const c = r.body.data.costs;
    expect(c.groupCount).toBeGreaterThan(2);
    const money = [c.totals.totalUsd, c.other.stats.totalUsd, ...c.groups.map((g: any) => g.stats.totalUsd)];
    for (const v of money) expect(String(v)).toMatch(/^\d+(\.\d{1,8})?$/);
    const units = (v: number) => BigInt(Math.round(v * 1e8));
    expect(units(c.other.stats.totalUsd) + units(c.groups[0].stats.totalUsd) + units(c.groups[1].stats.totalUsd)).toBe(units(c.totals.totalUsd));
    expect(c.groups[0].stats.totalUsd).toBeGreaterThanOrEqual(c.groups[1].stats.totalUsd);
    expect(c.other.key.model).toBeNull();
    const perf = r.body.data.performance;
    if (perf.plan.percentiles === 'HISTOGRAM' && perf.groups.length > 1) {
      const p95s = perf.groups.map((g: any) => g.stats.latency.p95Ms);
      expect(new Set([...p95s, perf.totals.latency.p95Ms]).size).toBeGreaterThan(1);
    }
    const forward = await gql(gw.url, admin, '{ traces(first: 6) { nodes { id model userId } pageInfo { endCursor } } }');
    const p1 = forward.body.data.traces;
    const next = await gql(gw.url, admin, `{ traces(first: 3, after: "${p1.pageInfo.endCursor}") { pageInfo { startCursor hasPreviousPage } } }`);
    expect(next.body.data.traces.pageInfo.hasPreviousPage).toBe(true);
    const back = await gql(gw.url, admin, `{ traces(last: 6, before: "${next.body.data.traces.pageInfo.startCursor}") { nodes { id } pageInfo { hasPreviousPage hasNextPage } } }`);
    expect(back.body.data.traces.nodes.map((n: any) => n.id)).toEqual(p1.nodes.map((n: any) => n.id));
    expect(back.body.data.traces.pageInfo).toEqual({ hasPreviousPage: false, hasNextPage: true });
    const mixed = await gql(gw.url, admin, '{ traces(first: 2, last: 2) { nodes { id } } }');
    expect(mixed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const t = p1.nodes.find((n: any) => n.userId && n.userId.length >= 3)!;
    const found = await gql(gw.url, admin, 'query($q: String!) { searchTraces(query: $q, first: 1000) { nodes { id model userId } } }', { q: `${t.model} ${t.userId}` });
    expect(found.body.errors).toBeUndefined();
    const ids = found.body.data.searchTraces.nodes.map((n: any) => n.id);
    expect(ids).toContain(t.id);
  });

  it('pages through every trace of the org exactly once with keyset cursors', async () => {
    const seen = new Set<string>();
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const r: any = await gql(
        gw.url,
        admin,
        'query($after: Cursor) { traces(first: 400, after: $after) { totalCount nodes { id timestamp } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      expect(r.body.errors).toBeUndefined();
      const c = r.body.data.traces;
      for (const n of c.nodes) {
        expect(seen.has(n.id)).toBe(false);
        seen.add(n.id);
      }
      pages++;
      if (!c.pageInfo.hasNextPage) {
        expect(seen.size).toBe(c.totalCount);
        break;
      }
      after = c.pageInfo.endCursor;
    }
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = ${orgId}`.execute(gw.services.database.db);
    expect(seen.size).toBe(rows[0]!.n);
    expect(pages).toBeGreaterThan(1);
  });

  it('orders by cost with a deterministic tie-break', async () => {
    const r = await gql(gw.url, admin, '{ traces(first: 50, orderBy: {field: COST, direction: DESC}) { nodes { totalCostUsd timestamp } } }');
    const costs = r.body.data.traces.nodes.map((n: any) => n.totalCostUsd);
    expect([...costs].sort((a, b) => b - a)).toEqual(costs);
  });

  it('returns one trace with its project; other orgs see nothing of it', async () => {
    const list = await gql(gw.url, admin, '{ traces(first: 1) { nodes { id model project { id name } } } }');
    const node = list.body.data.traces.nodes[0];
    const one = await gql(gw.url, admin, 'query($id: ID!) { trace(id: $id) { id model project { id } } }', { id: node.id });
    expect(one.body.data.trace).toEqual({ id: node.id, model: node.model, project: { id: node.project.id } });

    const foreign = await gql(gw.url, otherOrgKey, 'query($id: ID!) { trace(id: $id) { id } }', { id: node.id });
    expect(foreign.body.data.trace).toBeNull();
    const foreignList = await gql(gw.url, otherOrgKey, '{ viewer { orgId } traces(first: 1000) { nodes { id project { id } } } }');
    const ids = new Set(foreignList.body.data.traces.nodes.map((n: any) => n.id));
    expect(ids.has(node.id)).toBe(false);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = ${orgId} AND id = ANY(${[...ids]}::uuid[])`.execute(gw.services.database.db);
    expect(rows[0]!.n).toBe(0);
  });

  it('gives coded errors for bad input, never a 500', async () => {
    const huge = await gql(gw.url, admin, '{ traces(first: 100000) { nodes { id } } }');
    expect(huge.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const cursor = await gql(gw.url, admin, '{ traces(after: "garbage!") { nodes { id } } }');
    expect(cursor.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badId = await gql(gw.url, admin, '{ trace(id: "1; DROP TABLE traces") { id } }');
    expect(badId.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const injection = await gql(gw.url, admin, `{ traces(filter: {models: ["x' OR '1'='1"]}) { nodes { id } } }`);
    expect(injection.body.errors).toBeUndefined();
    expect(injection.body.data.traces.nodes).toEqual([]);
    const parse = await gql(gw.url, admin, '{ traces(first: ) }');
    expect(parse.status).toBe(400);
    expect(parse.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const unknown = await gql(gw.url, admin, '{ nope }');
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const inverted = await gql(gw.url, admin, '{ traces(filter: {from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z"}) { nodes { id } } }');
    expect(inverted.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badJson = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: '{"query": ' });
    expect(badJson.status).toBe(400);
  });

  it('serves GET queries and health endpoints', async () => {
    const q = `${gw.url}?query=${encodeURIComponent('{ viewer { role } }')}`;
    // CSRF prevention: a GET without a preflight-forcing header is refused.
    expect((await fetch(q, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(400);
    const res = await fetch(q, { headers: { authorization: `Bearer ${admin}`, 'apollo-require-preflight': 'true' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.viewer.role).toBe('ADMIN');
    const base = gw.url.replace('/graphql', '');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as any).checks.database.status).toBe('up');
  });

  it('caps the request body size with a coded 413', async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: `{ viewer { orgId } } # ${'x'.repeat(2_000_000)}` }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
