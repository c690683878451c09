import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase, withStatementTimeout, type DatabaseHandle } from '../../src/db/database';
import { createApiKey } from '../../src/auth/api-keys';
import { Authenticator } from '../../src/auth/authenticator';
import { migrateToLatest } from '../../src/db/migrator';
import { ensureOrgs } from '../support/trace-builder';
import { fromDatabaseError } from '../../src/shared/errors';
import { gql, type GqlResponse } from '../support/gateway';
import { startOpsGateway, type OpsGateway } from '../support/ops-gateway';
import { createTestDatabase, terminateBackendsRunning, type TestDatabase } from '../support/postgres';
import { REDIS_URL, deleteKeysWithPrefix, redisClient, uniquePrefix } from '../support/cache-fixture';
import { TcpProxy } from '../support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const viaProxy = (proxy: TcpProxy) => (url: string) => url.replace(':5432/', `:${proxy.port}/`);

/** Every answer of an outage: HTTP 200 (never 5xx), and only the coded SERVICE_UNAVAILABLE. */
function expectCodedOutage(r: GqlResponse) {
  expect(r.status).toBe(200);
  expect(r.body.errors?.length).toBeGreaterThan(0);
  for (const e of r.body.errors ?? []) expect(e.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  expect(JSON.stringify(r.body)).not.toMatch(/Context creation failed|INTERNAL_SERVER_ERROR|ECONNRESET|not queryable|terminat/i);
}

describe('a connection that dies inside the statement-timeout transaction', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let handle: DatabaseHandle;
  beforeAll(async () => {
    tdb = await createTestDatabase('rollback');
    proxy = new TcpProxy(5432);
    await proxy.start();
    handle = await openDatabase(loadConfig({ DATABASE_URL: viaProxy(proxy)(tdb.url), DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_POOL_MAX: '2' }));
  });
  afterAll(async () => {
    await handle?.close();
    await proxy?.stop();
    await tdb?.drop();
  });

  const sleeper = (tag: string) =>
    withStatementTimeout(handle, handle.db, 'simple', (trx) => sql`SELECT pg_sleep(3) /* ${sql.raw(tag)} */`.execute(trx)).then(
      () => null,
      (err: Error & { code?: string }) => err,
    );

  it('reports what killed it, not the failed ROLLBACK, when the connection is cut', async () => {
    const failed = sleeper('cutMe');
    await sleep(300);
    proxy.dropConnections();
    const err = await failed;
    // Without the fix this is the ROLLBACK's "Client has encountered a connection error and is not queryable".
    expect(err?.message).toMatch(/Connection terminated/);
    expect(err?.message).not.toMatch(/not queryable/);
    expect(fromDatabaseError(err)?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    // The dead connection is not handed out again.
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(handle.db)).rows[0]?.one).toBe(1);
  });

  it('reports the terminated backend (57P01) after pg_terminate_backend', async () => {
    const failed = sleeper('terminateMe');
    await sleep(300);
    expect(await terminateBackendsRunning(tdb.name, 'terminateMe')).toBe(1);
    const err = await failed;
    expect(err?.code).toBe('57P01');
    expect(fromDatabaseError(err)?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(handle.db)).rows[0]?.one).toBe(1);
  });
});

describe('the database restarting under the gateway (through a proxy)', () => {
  let proxy: TcpProxy;
  let ops: OpsGateway;
  beforeAll(async () => {
    proxy = new TcpProxy(5432);
    await proxy.start();
    ops = await startOpsGateway({ AUTH_CACHE_TTL_MS: '1000', DB_ACQUIRE_TIMEOUT_MS: '1000' }, { urlFor: viaProxy(proxy) });
  });
  afterAll(async () => {
    await ops?.stop();
    await proxy?.stop();
  });

  it('answers every in-flight and later request with a coded SERVICE_UNAVAILABLE, HTTP 200, and recovers', async () => {
    expect((await gql(ops.gw.url, ops.key, '{ traces(first: 1) { nodes { id } } }')).body.errors).toBeUndefined();
    const unknownKey = 'obs_admin_neverseenbeforeneverseenbefore';
    // The key's memo is fresh: the requests below go straight to their statements.
    expect((await gql(ops.gw.url, ops.key, '{ viewer { orgId } }')).body.errors).toBeUndefined();

    // Hung, then reset: requests are in flight on connections that die with ECONNRESET.
    proxy.pause();
    const inFlight = Array.from({ length: 6 }, (_, i) => gql(ops.gw.url, ops.key, `{ traces(first: ${i + 2}) { nodes { id } } }`));
    const pool = ops.gw.services.database.pool;
    for (const end = Date.now() + 10_000; pool.totalCount - pool.idleCount < 6 && Date.now() < end; ) await sleep(20);
    expect(pool.totalCount - pool.idleCount).toBe(6); // all six at the (hung) database
    proxy.dropConnections({ reset: true });
    proxy.resume();
    // Each one is coded (or, rarely, answered: a request can reach the pool again after the cut).
    const answers = await Promise.all(inFlight);
    const coded = answers.filter((r) => r.body.errors);
    for (const r of coded) expectCodedOutage(r);
    for (const r of answers.filter((a) => !a.body.errors)) expect(r.status).toBe(200);
    expect(coded.length).toBeGreaterThanOrEqual(4);

    // Down: connections refused. The key's memo has run out (1 s): the stale memo stands in.
    await proxy.stop();
    await sleep(1100);
    expectCodedOutage(await gql(ops.gw.url, ops.key, '{ traces(first: 9) { nodes { id } } }'));
    // A key never seen cannot be checked: coded, HTTP 200, not 401 and not 500.
    expectCodedOutage(await gql(ops.gw.url, unknownKey, '{ viewer { orgId } }'));

    await proxy.start(); // same port: the database is back
    let ok: GqlResponse | undefined;
    for (const end = Date.now() + 10_000; Date.now() < end; await sleep(100)) {
      ok = await gql(ops.gw.url, ops.key, '{ traces(first: 3) { nodes { id } } }');
      if (!ok.body.errors) break;
    }
    expect(ok?.body.errors).toBeUndefined();
    expect(ok?.body.data.traces.nodes).toHaveLength(3);
    expect((await gql(ops.gw.url, unknownKey, '{ viewer { orgId } }')).status).toBe(401);
  });
});

describe('fully cached requests while the database is down', () => {
  const prefix = uniquePrefix('dbdown');
  let proxy: TcpProxy;
  let ops: OpsGateway;
  let strict: OpsGateway | undefined;
  beforeAll(async () => {
    proxy = new TcpProxy(5432);
    await proxy.start();
    ops = await startOpsGateway(
      { CACHE_ENABLED: 'true', REDIS_URL, REDIS_KEY_PREFIX: prefix, AUTH_CACHE_TTL_MS: '200', DB_ACQUIRE_TIMEOUT_MS: '1000' },
      { urlFor: viaProxy(proxy) },
    );
  });
  afterAll(async () => {
    await strict?.stop();
    await ops?.stop();
    await proxy?.stop();
    const redis = await redisClient();
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it('are answered from the cache with a stale key memo; anything else is coded SERVICE_UNAVAILABLE', async () => {
    const q = '{ traces(first: 4) { nodes { id model } } }';
    const before = await gql(ops.gw.url, ops.key, q);
    expect(before.body.errors).toBeUndefined();
    // A second key of another org, seen before the outage too: its cached answer is its own.
    const other = await createApiKey(ops.gw.services.database.db, { orgId: 'org_b', name: 'other', role: 'ADMIN' });
    const otherBefore = await gql(ops.gw.url, other.key, q);
    expect(otherBefore.body.errors).toBeUndefined();

    await proxy.stop();
    await sleep(300); // past AUTH_CACHE_TTL_MS: every memo has run out
    const during = await gql(ops.gw.url, ops.key, q);
    expect(during.status).toBe(200);
    expect(during.body.errors).toBeUndefined();
    expect(during.body.data).toEqual(before.body.data);
    const otherDuring = await gql(ops.gw.url, other.key, q);
    expect(otherDuring.body.data).toEqual(otherBefore.body.data);
    expect(otherDuring.body.data).not.toEqual(during.body.data);

    // Not cached: needs the database.
    expectCodedOutage(await gql(ops.gw.url, ops.key, '{ traces(first: 5) { nodes { id } } }'));
    await proxy.start();
  });

  it('with AUTH_STALE_IF_ERROR_MS=0 a key whose memo ran out is refused with the coded SERVICE_UNAVAILABLE', async () => {
    strict = await startOpsGateway(
      { CACHE_ENABLED: 'true', REDIS_URL, REDIS_KEY_PREFIX: prefix, AUTH_CACHE_TTL_MS: '200', AUTH_STALE_IF_ERROR_MS: '0' },
      { urlFor: viaProxy(proxy) },
    );
    const q = '{ traces(first: 2) { nodes { id } } }';
    expect((await gql(strict.gw.url, strict.key, q)).body.errors).toBeUndefined();
    await proxy.stop();
    await sleep(300);
    expectCodedOutage(await gql(strict.gw.url, strict.key, q));
    await proxy.start();
  });
});

describe('the stale key memo is bounded', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let handle: DatabaseHandle;
  beforeAll(async () => {
    tdb = await createTestDatabase('stalememo');
    proxy = new TcpProxy(5432);
    await proxy.start();
    handle = await openDatabase(loadConfig({ DATABASE_URL: viaProxy(proxy)(tdb.url), DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_ACQUIRE_TIMEOUT_MS: '500' }));
    await migrateToLatest(handle);
    await ensureOrgs(handle.db, ['org_a']);
  });
  afterAll(async () => {
    await handle?.close();
    await proxy?.stop();
    await tdb?.drop();
  });

  it('asks the database once for a burst of requests, serves the memo past its TTL only during an outage, and only up to AUTH_STALE_IF_ERROR_MS', async () => {
    const { key } = await createApiKey(handle.db, { orgId: 'org_a', name: 'memo', role: 'VIEWER' });
    const auth = new Authenticator(handle.readDb, handle.db, { ttlMs: 100, staleIfErrorMs: 600 });
    const lookups: string[] = [];
    const off = handle.addQueryListener((e) => e.query.sql.includes('api_keys') && e.query.sql.startsWith('select') && lookups.push(e.query.sql));
    try {
      const burst = await Promise.all(Array.from({ length: 10 }, () => auth.authenticate({ authorization: `Bearer ${key}` })));
      expect(burst.every((v) => v?.orgId === 'org_a')).toBe(true);
      expect(lookups).toHaveLength(1);

      await proxy.stop();
      await sleep(250); // memo expired, inside the stale bound
      expect((await auth.authenticate({ authorization: `Bearer ${key}` }))?.orgId).toBe('org_a');
      // Unknown keys are never let through on a stale memo: coded, not UNAUTHENTICATED.
      await expect(auth.authenticate({ authorization: 'Bearer obs_viewer_unknownunknownunknown' })).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      await sleep(600); // past TTL + AUTH_STALE_IF_ERROR_MS
      await expect(auth.authenticate({ authorization: `Bearer ${key}` })).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 200 } } });

      await proxy.start();
      expect((await auth.authenticate({ authorization: `Bearer ${key}` }))?.orgId).toBe('org_a');
    } finally {
      off();
    }
  });
});
