import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { buildTraces, ensureOrgs, insertTraces } from '../support/trace-builder';
import { MODES } from '../support/modes';

/**
 * Session.traces goes through a loader: one statement for a page of sessions, and each session's
 * page the same as Query.traces filtered to that session (the path Session.traces took before),
 * tenant and project scope included.
 */
describe.each(MODES)('Session.traces batched (%s)', (mode) => {
  let gw: RunningGateway;
  let tdb: TestDatabase | undefined;
  let admin: string;
  let scoped: string;
  const statements: string[] = [];
  const now = Date.now();

  beforeAll(async () => {
    const env: Record<string, string> = { DEMO_DATA: 'false', CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' };
    if (mode === 'postgres') {
      tdb = await createTestDatabase('sesstraces');
      Object.assign(env, { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' });
    }
    gw = await startTestGateway(env);
    const db = gw.services.database.db;
    await ensureOrgs(db, ['org_a', 'org_b']);
    const template = buildTraces(1, { from: new Date(now - 3600_000), to: new Date(now), orgs: ['org_a'] })[0]!;
    const row = (session: string, project: string, minutesAgo: number, org = 'org_a') => ({
      ...template,
      id: crypto.randomUUID(),
      session_id: session,
      org_id: org,
      project_id: project,
      ts: new Date(now - minutesAgo * 60_000),
    });
    await insertTraces(db, [
      ...[50, 49, 48, 47, 46].map((m, i) => row('five', i % 2 ? 'org_a_p1' : 'org_a_p0', m)),
      row('two', 'org_a_p1', 30), row('two', 'org_a_p0', 29),
      row('one', 'org_a_p0', 20),
      // The same session id in another org never mixes in.
      row('five', 'org_b_p0', 10, 'org_b'), row('five', 'org_b_p0', 9, 'org_b'),
    ]);
    admin = (await createApiKey(db, { orgId: 'org_a', name: 'admin', role: 'ADMIN' })).key;
    scoped = (await createApiKey(db, { orgId: 'org_a', name: 'p0 only', role: 'VIEWER', projectIds: ['org_a_p0'] })).key;
    gw.services.database.addQueryListener((e) => statements.push(e.query.sql));
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await tdb?.drop();
  });

  const PAGE = 'nodes { id projectId timestamp } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount';
  const sessionsWith = (page: string) => `{ sessions(filter: {last: "2h"}) { nodes { id traces${page ? `(${page})` : ''} { ${PAGE} } } } }`;
  const oneSession = (id: string, page: string) =>
    `{ traces(filter: {sessionIds: ["${id}"]}, orderBy: {field: TIMESTAMP, direction: ASC}${page ? `, ${page}` : ''}) { ${PAGE} } }`;

  const during = async <T>(fn: () => Promise<T>) => {
    statements.length = 0;
    const out = await fn();
    return { out, statements: [...statements] };
  };

  it.each([
    ['first: 2', 'first: 2'],
    ['last: 2', 'last: 2'],
    ['no page arguments', ''],
  ])('reads %s of every session in one statement, each page as Query.traces answers it', async (_name, page) => {
    for (const key of [admin, scoped]) {
      const { out: r, statements: run } = await during(() => gql(gw.url, key, sessionsWith(page)));
      expect(r.body.errors).toBeUndefined();
      expect(run.filter((s) => s.includes('/* findTracesOfSessions */'))).toHaveLength(1);
      expect(run.filter((s) => s.includes('/* findTraces */'))).toHaveLength(0);
      const nodes = r.body.data.sessions.nodes as { id: string; traces: unknown }[];
      expect(nodes.map((n) => n.id).sort()).toEqual(['five', 'one', 'two']);
      for (const n of nodes) {
        const alone = await gql(gw.url, key, oneSession(n.id, page));
        expect(alone.body.errors).toBeUndefined();
        expect(n.traces).toEqual(alone.body.data.traces);
      }
    }
  });

  it('keeps tenant and project scope: another org\'s traces of the same session id never appear', async () => {
    const r = await gql(gw.url, scoped, sessionsWith('first: 10'));
    const five = (r.body.data.sessions.nodes as any[]).find((n) => n.id === 'five');
    expect(five.traces.totalCount).toBe(3);
    expect(five.traces.nodes.map((t: any) => t.projectId)).toEqual(['org_a_p0', 'org_a_p0', 'org_a_p0']);
  });

  it('answers a page after a cursor as before (one session, its own read)', async () => {
    const start = await gql(gw.url, admin, oneSession('five', 'first: 2'));
    const after = start.body.data.traces.pageInfo.endCursor;
    const q = `query($a: Cursor) { session(id: "five") { traces(first: 2, after: $a) { ${PAGE} } } }`;
    const r = await gql(gw.url, admin, q, { a: after });
    expect(r.body.errors).toBeUndefined();
    const alone = await gql(gw.url, admin, `query($a: Cursor) { traces(filter: {sessionIds: ["five"]}, orderBy: {field: TIMESTAMP, direction: ASC}, first: 2, after: $a) { ${PAGE} } }`, { a: after });
    expect(r.body.data.session.traces).toEqual(alone.body.data.traces);
  });

  it('runs loaders under the statement timeout the services use', async () => {
    const { out: r, statements: run } = await during(() => gql(gw.url, admin, '{ session(id: "five") { id traces(first: 1) { nodes { id related { id } scores { name } } } } }'));
    expect(r.body.errors).toBeUndefined();
    // A timed read sends its settings with its statements: `set_config('statement_timeout', '<ms>', true)`
    // in a read batch (server modes), `BEGIN; SET LOCAL statement_timeout = <ms>` in embedded mode.
    const timeouts = run.filter((s) => /set_config\('statement_timeout', '\d+', true\)|SET LOCAL statement_timeout = \d+/.test(s));
    const reads = run.filter((s) => /^\s*(select|with)\b/i.test(s));
    // Each loader batch (session by id, its traces, their spans and scores) is its own timed read.
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(timeouts.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses bad page arguments on the field as before', async () => {
    const r = await gql(gw.url, admin, '{ session(id: "five") { traces(first: 1, last: 1) { nodes { id } } } }');
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
