import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { buildTraces, ensureOrgs, insertTraces } from '../support/trace-builder';

/**
 * Relay paging both ways (issue 17): `last`/`before` on traces, searchTraces, sessions and a
 * session's traces give the same rows as walking forward, in the connection's own order, with
 * PageInfo flags read from both sides of the cursor. Both storage modes.
 */
const HOUR = 3_600_000;
const TO = new Date(Math.floor(Date.now() / HOUR) * HOUR);
const FROM = new Date(TO.getTime() - 12 * HOUR);
const RANGE = `{from: "${FROM.toISOString()}", to: "${TO.toISOString()}"}`;

interface Page {
  ids: string[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

describe.each(['embedded', 'postgres'] as const)('connection paging (%s)', (mode) => {
  let gw: RunningGateway;
  let tdb: TestDatabase | undefined;
  let key: string;

  beforeAll(async () => {
    const env: Record<string, string> = { DEMO_DATA: 'false' };
    if (mode === 'postgres') {
      tdb = await createTestDatabase('paging');
      Object.assign(env, { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' });
    }
    gw = await startTestGateway(env);
    const rows = buildTraces(160, { from: FROM, to: TO, seed: 17, orgs: ['org_a'] });
    // Ties on the timestamp and on cost: the keyset's id tie-break must hold both ways.
    for (let i = 0; i < 20; i++) rows[i + 20]!.ts = rows[i]!.ts;
    for (let i = 0; i < 30; i++) rows[i + 60]!.total_cost_usd = rows[0]!.total_cost_usd;
    for (const [i, r] of rows.entries()) r.input = i % 3 ? `paging needle ${i}` : `other ${i}`;
    await ensureOrgs(gw.services.database.db, ['org_a']);
    await insertTraces(gw.services.database.db, rows);
    key = (await createApiKey(gw.services.database.db, { orgId: 'org_a', name: 'paging', role: 'ADMIN' })).key;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await tdb?.drop();
  });

  async function page(field: string, args: string, sub = ''): Promise<Page> {
    const q = `{ ${field}(${args}) { nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const r = await gql(gw.url, key, sub ? sub.replace('CONN', q.slice(2, -2)) : q);
    expect(r.body.errors).toBeUndefined();
    let conn: any = r.body.data;
    for (const k of (sub ? sub.match(/\b\w+(?=[({])/g)!.concat(field) : [field])) conn = Array.isArray(conn) ? conn[0][k] : conn[k];
    return { ids: conn.nodes.map((n: any) => n.id), pageInfo: conn.pageInfo };
  }

  /** Every row, forward then backward, in pages of 7: same order, and the flags right at every step. */
  async function walkBothWays(field: string, extra: string) {
    const sep = extra ? `${extra}, ` : '';
    const forward: string[] = [];
    let after: string | null = null;
    for (let i = 0; ; i++) {
      const p: Page = await page(field, `${sep}first: 7${after ? `, after: "${after}"` : ''}`);
      expect(p.pageInfo.hasPreviousPage).toBe(i > 0);
      forward.push(...p.ids);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    const backward: string[] = [];
    let before: string | null = null;
    for (let i = 0; ; i++) {
      const p: Page = await page(field, `${sep}last: 7${before ? `, before: "${before}"` : ''}`);
      expect(p.pageInfo.hasNextPage).toBe(i > 0);
      expect(p.ids.length).toBeLessThanOrEqual(7);
      backward.unshift(...p.ids);
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor;
    }
    expect(forward.length).toBeGreaterThan(14);
    expect(new Set(forward).size).toBe(forward.length);
    expect(backward).toEqual(forward);
    return forward;
  }

  it('traces: newest first, and by cost ascending with ties', async () => {
    const all = await walkBothWays('traces', `filter: ${RANGE}`);
    const reference = await page('traces', `filter: ${RANGE}, first: 1000`);
    expect(all).toEqual(reference.ids);
    await walkBothWays('traces', `filter: ${RANGE}, orderBy: {field: COST, direction: ASC}`);
  });

  it('before a forward page start gives exactly the previous forward page', async () => {
    const p1 = await page('traces', 'first: 10, orderBy: {field: COST}');
    const p2 = await page('traces', `first: 10, after: "${p1.pageInfo.endCursor}", orderBy: {field: COST}`);
    const back = await page('traces', `last: 10, before: "${p2.pageInfo.startCursor}", orderBy: {field: COST}`);
    expect(back.ids).toEqual(p1.ids);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, startCursor: p1.pageInfo.startCursor, endCursor: p1.pageInfo.endCursor });
    // The last rows with no cursor: the end of the ordering.
    const tail = await page('traces', 'last: 3');
    const everything = await page('traces', 'first: 1000');
    expect(tail.ids).toEqual(everything.ids.slice(-3));
    expect(tail.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('searchTraces, sessions and a session\'s traces page backward too', async () => {
    await walkBothWays('searchTraces', 'query: "paging needle"');
    await walkBothWays('sessions', `filter: ${RANGE}`);
    const s = await gql(gw.url, key, `{ sessions(filter: ${RANGE}, first: 1) { nodes { id traceCount } } }`);
    const sid = s.body.data.sessions.nodes[0].id;
    const all = await gql(gw.url, key, `{ session(id: "${sid}") { traces(first: 1000) { nodes { id } } } }`);
    const ids = all.body.data.session.traces.nodes.map((n: any) => n.id);
    const last = await gql(gw.url, key, `{ session(id: "${sid}") { traces(last: 2) { nodes { id } pageInfo { hasNextPage hasPreviousPage } } } }`);
    expect(last.body.data.session.traces.nodes.map((n: any) => n.id)).toEqual(ids.slice(-2));
    expect(last.body.data.session.traces.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: ids.length > 2 });
  });

  it('refuses mixing directions, bad sizes and foreign cursors with coded errors', async () => {
    const c = (await page('traces', 'first: 1')).pageInfo.endCursor!;
    const cases: [string, RegExp][] = [
      ['first: 5, last: 5', /first\/after or backward with last\/before, not both/],
      [`after: "${c}", last: 5`, /not both/],
      [`first: 5, before: "${c}"`, /not both/],
      ['last: 0', /last must be between 1 and 1000/],
      ['last: 1001', /last must be between 1 and 1000/],
      ['before: "bm90IGEgY3Vyc29y"', /Malformed cursor/],
      [`before: "${c}", orderBy: {field: COST}`, /different ordering; start again without `before`/],
    ];
    for (const [args, msg] of cases) {
      const r = await gql(gw.url, key, `{ traces(${args}) { nodes { id } } }`);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.body.errors?.[0]?.message).toMatch(msg);
    }
    const s = await gql(gw.url, key, '{ sessions(first: 2, last: 2) { nodes { id } } }');
    expect(s.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
