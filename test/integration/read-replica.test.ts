import pino from 'pino';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/app';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { createApiKey } from '../../src/auth/api-keys';
import type { Database } from '../../src/db/schema';
import { gql } from '../support/gateway';
import { opsEnv } from '../support/ops-gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { buildTraces, ensureOrgs, insertTraces } from '../support/trace-builder';
import { scrape } from '../support/prom-text';

/**
 * Primary and "replica" are two databases with the same schema and different rows: whatever
 * the gateway answers or writes shows which one it used.
 */
describe('DATABASE_READONLY_URL: reads from the replica, writes to the primary', () => {
  let primary: TestDatabase;
  let replica: TestDatabase;
  let replicaHandle: DatabaseHandle;
  let gw: RunningGateway;
  let key: string;
  let keyId: string;

  const traces = (model: string, n: number, seed: number) => {
    const to = new Date();
    return buildTraces(n, { from: new Date(to.getTime() - 6 * 3600_000), to, seed, orgs: ['org_a'] }).map((t) => ({ ...t, model }));
  };

  beforeAll(async () => {
    primary = await createTestDatabase('primary');
    replica = await createTestDatabase('replica');
    replicaHandle = await openDatabase(loadConfig({ DATABASE_URL: replica.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    await migrateToLatest(replicaHandle);

    const config = loadConfig(opsEnv(primary.url, { DATABASE_READONLY_URL: replica.url }));
    gw = await startGateway(config, pino({ level: 'silent' }));
    const p = gw.services.database.db;
    const r = replicaHandle.db;
    for (const db of [p, r]) await ensureOrgs(db, ['org_a']);
    // The same key in both (a replica holds what the primary wrote).
    ({ id: keyId, key } = await createApiKey(p, { orgId: 'org_a', name: 'replica-test', role: 'ADMIN' }));
    const row = await p.selectFrom('api_keys').selectAll().where('id', '=', keyId).executeTakeFirstOrThrow();
    await r.insertInto('api_keys').values({ ...row, project_ids: row.project_ids, created_at: row.created_at }).execute();
    await insertTraces(p, traces('primary-model', 5, 1));
    await insertTraces(r, traces('replica-model', 7, 2));
  });
  afterAll(async () => {
    await gw?.stop();
    await replicaHandle?.close();
    await primary?.drop();
    await replica?.drop();
  });

  const lastUsed = async (db: Kysely<Database>) =>
    (await db.selectFrom('api_keys').select('last_used_at').where('id', '=', keyId).executeTakeFirstOrThrow()).last_used_at;

  it('keeps two pools and reports both in readiness and in the pool gauges', async () => {
    expect(gw.services.database.readDb).not.toBe(gw.services.database.db);
    const base = gw.url.replace(/\/graphql$/, '');
    const ready = (await (await fetch(`${base}/health/ready`)).json()) as any;
    expect(ready.status).toBe('healthy');
    expect(ready.checks.database.status).toBe('up');
    expect(ready.checks.database_replica.status).toBe('up');
    const m = await scrape(`${base}/metrics`);
    expect(m.has('db_pool_size{pool="primary"}')).toBe(true);
    expect(m.has('db_pool_size{pool="replica"}')).toBe(true);
  });

  it('answers queries from the replica', async () => {
    const r = await gql(gw.url, key, '{ traces(first: 100) { totalCount nodes { model } } }');
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.traces.totalCount).toBe(7);
    expect(new Set(r.body.data.traces.nodes.map((n: any) => n.model))).toEqual(new Set(['replica-model']));
  });

  it('writes the key touch to the primary only', async () => {
    const until = Date.now() + 5000;
    while (!(await lastUsed(gw.services.database.db)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await lastUsed(gw.services.database.db)).toBeInstanceOf(Date);
    expect(await lastUsed(replicaHandle.db)).toBeNull();
  });

  it('reads export jobs from the replica, and writes new ones to the primary', async () => {
    const onlyOnReplica = await replicaHandle.db
      .insertInto('export_jobs')
      .values({ org_id: 'org_a', requested_by: keyId, format: 'JSONL', filter: '{}', status: 'SUCCEEDED' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const found = await gql(gw.url, key, 'query($id: ID!) { exportJob(id: $id) { id status } }', { id: onlyOnReplica.id });
    expect(found.body.data.exportJob).toEqual({ id: onlyOnReplica.id, status: 'SUCCEEDED' });

    const created = await gql(gw.url, key, 'mutation { exportTraces(format: CSV) { id } }');
    const code = created.body.errors?.[0]?.extensions?.code;
    if (code === 'NOT_IMPLEMENTED') {
      process.stdout.write('exportTraces is not implemented yet: only export-job reads were checked\n');
      const count = async (db: Kysely<Database>) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM export_jobs`.execute(db)).rows[0]!.n);
      expect(await count(gw.services.database.db)).toBe(0);
      return;
    }
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data.exportTraces.id;
    const inPrimary = await gw.services.database.db.selectFrom('export_jobs').select('id').where('id', '=', id).executeTakeFirst();
    const inReplica = await replicaHandle.db.selectFrom('export_jobs').select('id').where('id', '=', id).executeTakeFirst();
    expect(inPrimary?.id).toBe(id);
    expect(inReplica).toBeUndefined();
  });
});
