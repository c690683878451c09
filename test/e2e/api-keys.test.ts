import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Key management over HTTP: createApiKey → use → apiKeys → revokeApiKey → refused; non-admins
 * get FORBIDDEN; another org's keys are invisible and unrevocable; empty and foreign project
 * lists are refused; a project-scoped ADMIN cannot mint a wider key. Then revocation across two
 * instances sharing one PostgreSQL database, within AUTH_CACHE_TTL_MS.
 */
const CREATE = `mutation Create($name: String!, $role: Role!, $projectIds: [ID!]) {
  createApiKey(name: $name, role: $role, projectIds: $projectIds) { key apiKey { id name role projectIds keyPrefix active createdAt revokedAt } }
}`;
const LIST = '{ apiKeys(includeRevoked: true) { id name role projectIds keyPrefix active revokedAt } }';
const REVOKE = 'mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id active revokedAt } }';

describe('API key management over HTTP (embedded)', () => {
  let gw: RunningGateway;
  let admin: string;
  let orgA: string;
  let orgB: string;
  let otherAdminKey: string;
  let projectsA: string[];
  let projectB: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const k = gw.demoKeys.find((d) => d.role === 'ADMIN')!;
    admin = k.key;
    orgA = k.orgId;
    orgB = gw.demoKeys.find((d) => d.orgId !== orgA)!.orgId;
    const db = gw.services.database.db;
    projectsA = (await db.selectFrom('projects').select('id').where('org_id', '=', orgA).orderBy('id').execute()).map((r) => r.id);
    projectB = (await db.selectFrom('projects').select('id').where('org_id', '=', orgB).orderBy('id').executeTakeFirstOrThrow()).id;
    // The demo has no ADMIN in the second org: one is made directly.
    const { createApiKey } = await import('../../src/auth/api-keys');
    otherAdminKey = (await createApiKey(db, { orgId: orgB, name: 'b-admin', role: 'ADMIN' })).key;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('create → use → list → revoke → refused', async () => {
    const created = await gql(gw.url, admin, CREATE, { name: 'ci-nightly', role: 'VIEWER', projectIds: [projectsA[0]] });
    expect(created.body.errors).toBeUndefined();
    const { key, apiKey } = created.body.data.createApiKey;
    expect(key).toMatch(/^obs_viewer_[A-Za-z0-9_-]{32}$/);
    expect(apiKey).toMatchObject({ name: 'ci-nightly', role: 'VIEWER', projectIds: [projectsA[0]], keyPrefix: key.slice(0, 12), active: true, revokedAt: null });

    // The key works, with its role and project scope.
    const used = await gql(gw.url, key, '{ viewer { orgId role projectIds keyName } projects { id } }');
    expect(used.body.data.viewer).toEqual({ orgId: orgA, role: 'VIEWER', projectIds: [projectsA[0]], keyName: 'ci-nightly' });
    expect(used.body.data.projects.map((p: any) => p.id)).toEqual([projectsA[0]]);

    // Listed, but never with the key or its hash.
    const listed = await gql(gw.url, admin, LIST);
    const row = listed.body.data.apiKeys.find((r: any) => r.id === apiKey.id);
    expect(row).toMatchObject({ name: 'ci-nightly', active: true });
    const text = JSON.stringify(listed.body);
    expect(text).not.toContain(key);
    const { hashApiKey } = await import('../../src/auth/api-keys');
    expect(text).not.toContain(hashApiKey(key));

    const revoked = await gql(gw.url, admin, REVOKE, { id: apiKey.id });
    expect(revoked.body.data.revokeApiKey).toMatchObject({ id: apiKey.id, active: false });
    // This instance forgets the key at once (its memo of the lookup is dropped).
    const refused = await gql(gw.url, key, '{ viewer { orgId } }');
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Revoking again changes nothing (the first revocation time stays).
    const again = await gql(gw.url, admin, REVOKE, { id: apiKey.id });
    expect(again.body.data.revokeApiKey.revokedAt).toBe(revoked.body.data.revokeApiKey.revokedAt);
    // Without includeRevoked it is no longer listed.
    const active = await gql(gw.url, admin, '{ apiKeys { id } }');
    expect(active.body.data.apiKeys.map((r: any) => r.id)).not.toContain(apiKey.id);
  });

  it('a key for every project of the org: projectIds left out (null)', async () => {
    const r = await gql(gw.url, admin, CREATE, { name: 'org-wide', role: 'DEVELOPER' });
    expect(r.body.data.createApiKey.apiKey.projectIds).toBeNull();
    const v = await gql(gw.url, r.body.data.createApiKey.key, '{ viewer { projectIds } projects { id } }');
    expect(v.body.data.viewer.projectIds).toBeNull();
    expect(v.body.data.projects.map((p: any) => p.id).sort()).toEqual(projectsA);
  });

  it.each(['DEVELOPER', 'VIEWER', 'BILLING'])('%s gets FORBIDDEN on every key field, and nothing is written', async (role) => {
    const key = gw.demoKeys.find((d) => d.orgId === orgA && d.role === role)!.key;
    const count = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM api_keys`.execute(gw.services.database.db)).rows[0]!.n;
    const before = await count();
    for (const [query, variables] of [
      [LIST, {}],
      [CREATE, { name: 'sneaky', role: 'ADMIN' }],
      [REVOKE, { id: '00000000-0000-0000-0000-000000000000' }],
    ] as const) {
      const r = await gql(gw.url, key, query, variables);
      expect(r.status).not.toBe(500);
      expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'KEYS_MANAGE', role });
    }
    expect(await count()).toBe(before);
  });

  it("keys of another org are invisible and cannot be revoked; its projects cannot be granted", async () => {
    const b = await gql(gw.url, otherAdminKey, CREATE, { name: 'b-ci', role: 'VIEWER', projectIds: [projectB] });
    const bKey = b.body.data.createApiKey;
    const listA = await gql(gw.url, admin, LIST);
    const idsA = listA.body.data.apiKeys.map((r: any) => r.id);
    expect(idsA).not.toContain(bKey.apiKey.id);
    const dbIdsA = (await gw.services.database.db.selectFrom('api_keys').select('id').where('org_id', '=', orgA).execute()).map((r) => r.id);
    expect(idsA.sort()).toEqual(dbIdsA.sort());

    const cross = await gql(gw.url, admin, REVOKE, { id: bKey.apiKey.id });
    expect(cross.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gql(gw.url, bKey.key, '{ viewer { orgId } }')).body.data.viewer.orgId).toBe(orgB);

    const foreign = await gql(gw.url, admin, CREATE, { name: 'x', role: 'VIEWER', projectIds: [projectsA[0], projectB] });
    expect(foreign.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'projectIds' });
    expect(foreign.body.errors?.[0]?.message).toContain(projectB);
    // A project of another org and one that exists nowhere get the same answer.
    const nowhere = await gql(gw.url, admin, CREATE, { name: 'x', role: 'VIEWER', projectIds: ['proj_nowhere'] });
    expect(nowhere.body.errors?.[0]?.message.replace('proj_nowhere', 'P')).toBe(foreign.body.errors?.[0]?.message.replace(projectB, 'P'));
  });

  it('refuses an empty project list, bad names, bad ids — with codes, never a 500', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [CREATE, { name: 'empty', role: 'VIEWER', projectIds: [] }, 'projectIds'],
      [CREATE, { name: '   ', role: 'VIEWER' }, 'name'],
      [CREATE, { name: 'x'.repeat(101), role: 'VIEWER' }, 'name'],
      [CREATE, { name: 'bell\u0007', role: 'VIEWER' }, 'name'],
      [REVOKE, { id: 'not-a-uuid' }, 'id'],
    ];
    for (const [query, variables, argument] of cases) {
      const r = await gql(gw.url, admin, query, variables);
      expect([argument, r.status]).toEqual([argument, 200]);
      expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
    }
    const badRole = await gql(gw.url, admin, CREATE, { name: 'x', role: 'ROOT' });
    expect(badRole.status).toBe(400);
    expect(badRole.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await gql(gw.url, admin, REVOKE, { id: '00000000-0000-0000-0000-000000000000' });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM api_keys WHERE name IN ('empty', 'x') OR project_ids = '{}'`.execute(gw.services.database.db)).rows[0]!.n).toBe(0);
  });

  it('a key whose stored project list is empty grants nothing (it no longer means the whole org)', async () => {
    const { createApiKey } = await import('../../src/auth/api-keys');
    const db = gw.services.database.db;
    const { id, key } = await createApiKey(db, { orgId: orgA, name: 'legacy-empty', role: 'VIEWER' });
    await db.updateTable('api_keys').set({ project_ids: [] }).where('id', '=', id).execute();
    const r = await gql(gw.url, key, '{ viewer { orgId } }');
    expect(r.status).toBe(401);
  });

  it('a project-scoped ADMIN manages only keys inside its projects and cannot widen one', async () => {
    const scoped = (await gql(gw.url, admin, CREATE, { name: 'scoped-admin', role: 'ADMIN', projectIds: [projectsA[0]] })).body.data.createApiKey.key;
    const wide = await gql(gw.url, scoped, CREATE, { name: 'wider', role: 'VIEWER' });
    expect(wide.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'projectIds' });
    const other = await gql(gw.url, scoped, CREATE, { name: 'other-project', role: 'VIEWER', projectIds: [projectsA[1]] });
    expect(other.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'projectIds' });
    const inside = await gql(gw.url, scoped, CREATE, { name: 'inside', role: 'VIEWER', projectIds: [projectsA[0]] });
    expect(inside.body.errors).toBeUndefined();
    const listed = (await gql(gw.url, scoped, LIST)).body.data.apiKeys;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((k: any) => k.projectIds && k.projectIds.every((p: string) => p === projectsA[0]))).toBe(true);
    const demoAdminId = (await gql(gw.url, admin, '{ apiKeys { id name } }')).body.data.apiKeys.find((k: any) => k.name === 'demo-admin').id;
    expect((await gql(gw.url, scoped, REVOKE, { id: demoAdminId })).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('revocation across instances (PostgreSQL)', () => {
  const TTL_MS = 1500;
  let pg: TestDatabase;
  let a: RunningGateway;
  let b: RunningGateway;
  let admin: string;

  beforeAll(async () => {
    pg = await createTestDatabase('apikeys');
    const env = { DATABASE_URL: pg.url, AUTH_CACHE_TTL_MS: String(TTL_MS), CACHE_WARM_ON_START: 'false' };
    a = await startTestGateway(env);
    b = await startTestGateway(env);
    const db = a.services.database.db;
    await db.insertInto('orgs').values({ id: 'org_rev', name: 'Revocation Org' }).execute();
    await db.insertInto('projects').values({ id: 'proj_rev', org_id: 'org_rev', name: 'rev' }).execute();
    const { createApiKey } = await import('../../src/auth/api-keys');
    admin = (await createApiKey(db, { orgId: 'org_rev', name: 'admin', role: 'ADMIN' })).key;
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.drop();
  });

  it('a key revoked on one instance is refused there at once and on the other within AUTH_CACHE_TTL_MS', async () => {
    const created = (await gql(a.url, admin, CREATE, { name: 'to-revoke', role: 'VIEWER', projectIds: ['proj_rev'] })).body.data.createApiKey;
    // Both instances have looked the key up (and memoised it).
    expect((await gql(a.url, created.key, '{ viewer { keyName } }')).status).toBe(200);
    expect((await gql(b.url, created.key, '{ viewer { keyName } }')).status).toBe(200);

    const revokedAt = Date.now();
    expect((await gql(a.url, admin, REVOKE, { id: created.apiKey.id })).body.data.revokeApiKey.active).toBe(false);
    expect((await gql(a.url, created.key, '{ viewer { keyName } }')).status).toBe(401);

    // B's memo expires within the TTL of its lookup, which happened before the revocation.
    await new Promise((r) => setTimeout(r, Math.max(0, TTL_MS + 200 - (Date.now() - revokedAt))));
    const late = await gql(b.url, created.key, '{ viewer { keyName } }');
    expect(late.status).toBe(401);
    expect(late.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
