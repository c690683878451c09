import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { buildTraces, ensureOrgs, insertTraces } from '../support/trace-builder';
import { MODES } from '../support/modes';

/** Session.projectId is the session's main project, not the smallest project id; projectIds lists them. */
describe.each(MODES)('Session.projectId and projectIds (%s)', (mode) => {
  let gw: RunningGateway;
  let tdb: TestDatabase | undefined;
  let admin: string;
  let scoped: string;
  const now = Date.now();

  beforeAll(async () => {
    const env: Record<string, string> = { DEMO_DATA: 'false' };
    if (mode === 'postgres') {
      tdb = await createTestDatabase('sessproj');
      Object.assign(env, { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' });
    }
    gw = await startTestGateway(env);
    const db = gw.services.database.db;
    await ensureOrgs(db, ['org_a', 'org_b']);
    const template = buildTraces(1, { from: new Date(now - 3600_000), to: new Date(now), orgs: ['org_a'] })[0]!;
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    const row = (session: string, project: string, minutesAgo: number, org = 'org_a') => ({ ...template, id: crypto.randomUUID(), session_id: session, org_id: org, project_id: project, ts: at(minutesAgo) });
    await insertTraces(db, [
      // "majority": p0 (the smaller id) has 2 traces, p1 has 3: the main project is p1.
      row('majority', 'org_a_p0', 50), row('majority', 'org_a_p0', 49),
      row('majority', 'org_a_p1', 40), row('majority', 'org_a_p1', 39), row('majority', 'org_a_p1', 38),
      // "tie": 2 and 2; p1's first trace came first.
      row('tie', 'org_a_p1', 30), row('tie', 'org_a_p0', 29), row('tie', 'org_a_p1', 28), row('tie', 'org_a_p0', 27),
      // "single": one project.
      row('single', 'org_a_p0', 20),
      // The same session id in another org never mixes in.
      row('majority', 'org_b_p0', 10, 'org_b'), row('majority', 'org_b_p0', 9, 'org_b'), row('majority', 'org_b_p0', 8, 'org_b'), row('majority', 'org_b_p0', 7, 'org_b'),
    ]);
    admin = (await createApiKey(db, { orgId: 'org_a', name: 'admin', role: 'ADMIN' })).key;
    scoped = (await createApiKey(db, { orgId: 'org_a', name: 'p0 only', role: 'VIEWER', projectIds: ['org_a_p0'] })).key;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await tdb?.drop();
  });

  const Q = `{ sessions(filter: {last: "2h"}) { nodes { id projectId projectIds traceCount } }
    majority: session(id: "majority") { projectId projectIds traceCount } tie: session(id: "tie") { projectId projectIds } }`;

  it('is the project with the most traces, ties to the earliest first trace, in the list and by id', async () => {
    const r = await gql(gw.url, admin, Q);
    expect(r.body.errors).toBeUndefined();
    const byId = Object.fromEntries(r.body.data.sessions.nodes.map((n: any) => [n.id, n]));
    expect(byId.majority).toEqual({ id: 'majority', projectId: 'org_a_p1', projectIds: ['org_a_p0', 'org_a_p1'], traceCount: 5 });
    expect(byId.tie).toMatchObject({ projectId: 'org_a_p1', projectIds: ['org_a_p0', 'org_a_p1'] });
    expect(byId.single).toMatchObject({ projectId: 'org_a_p0', projectIds: ['org_a_p0'] });
    expect(r.body.data.majority).toEqual({ projectId: 'org_a_p1', projectIds: ['org_a_p0', 'org_a_p1'], traceCount: 5 });
    expect(r.body.data.tie).toEqual({ projectId: 'org_a_p1', projectIds: ['org_a_p0', 'org_a_p1'] });
  });

  it('counts only what the key can see: a p0-scoped key gets p0', async () => {
    const r = await gql(gw.url, scoped, Q);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.majority).toEqual({ projectId: 'org_a_p0', projectIds: ['org_a_p0'], traceCount: 2 });
    for (const n of r.body.data.sessions.nodes) expect(n.projectIds).toEqual(['org_a_p0']);
  });

  it('pages sessions with the same cursor order as before', async () => {
    const first = await gql(gw.url, admin, '{ sessions(first: 2, filter: {last: "2h"}) { nodes { id } pageInfo { endCursor hasNextPage } } }');
    const next = await gql(gw.url, admin, 'query($a: Cursor) { sessions(first: 2, after: $a, filter: {last: "2h"}) { nodes { id } pageInfo { hasNextPage } } }', { a: first.body.data.sessions.pageInfo.endCursor });
    expect([...first.body.data.sessions.nodes, ...next.body.data.sessions.nodes].map((n: any) => n.id)).toEqual(['single', 'tie', 'majority']);
    expect(next.body.data.sessions.pageInfo.hasNextPage).toBe(false);
  });
});
