import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { createApiKey } from '../../src/auth/api-keys';
import { createLogger } from '../../src/logger';
import { gql } from '../support/gateway';
import { startOpsGateway, type OpsGateway } from '../support/ops-gateway';
import { delta, scrape } from '../support/prom-text';

describe('pool discipline with DB_POOL_MAX=1', () => {
  let ops: OpsGateway;
  const lines: Record<string, any>[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
        done();
      },
    });
    ops = await startOpsGateway(
      { DB_POOL_MAX: '1', DB_ACQUIRE_TIMEOUT_MS: '300', SLOW_QUERY_MS: '400', LOG_LEVEL: 'info' },
      { logger: createLogger({ logLevel: 'info', env: 'test' }, sink) },
    );
  });
  afterAll(async () => {
    await ops?.stop();
  });

  /** Occupies the only connection with a named slow statement. */
  const hold = (seconds: number) =>
    sql`SELECT pg_sleep(${seconds}) /* holdConnection */`.execute(ops.gw.services.database.db).then(() => undefined);

  it('turns an acquire timeout into SERVICE_UNAVAILABLE quickly, counts it, and shows the queue in the gauges', async () => {
    const metrics = `${ops.base}/metrics`;
    expect((await gql(ops.gw.url, ops.key, '{ traces(first: 1) { nodes { id } } }')).body.errors).toBeUndefined();
    const before = await scrape(metrics);

    const held = hold(1.5);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const pending = gql(ops.gw.url, ops.key, '{ traces(first: 1) { nodes { id } } }');
    await new Promise((r) => setTimeout(r, 100));
    const during = await scrape(metrics);
    expect(during.get('db_pool_size{pool="primary"}')).toBe(1);
    expect(during.get('db_pool_connections{pool="primary"}')).toBe(1);
    expect(during.get('db_pool_idle{pool="primary"}')).toBe(0);
    expect(during.get('db_pool_waiting{pool="primary"}')).toBe(1);

    const r = await pending;
    const elapsed = Date.now() - started;
    expect(r.status).toBe(200);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(r.body.errors?.[0]?.message).toMatch(/pool is exhausted/);
    expect(elapsed).toBeLessThan(1200); // the acquire timeout, not the 1.5 s statement
    await held;

    const after = await scrape(metrics);
    expect(delta(before, after, 'db_errors_total', { error_type: 'pool_timeout' })).toBe(1);
    expect(delta(before, after, 'graphql_resolver_errors_total', { code: 'SERVICE_UNAVAILABLE' })).toBe(1);
    expect(after.get('db_pool_waiting{pool="primary"}')).toBe(0);
  });

  it('gives the same code when the key lookup itself cannot get a connection', async () => {
    const fresh = await createApiKey(ops.gw.services.database.db, { orgId: 'org_a', name: 'fresh', role: 'VIEWER' });
    const held = hold(1);
    await new Promise((r) => setTimeout(r, 100));
    const r = await gql(ops.gw.url, fresh.key, '{ viewer { orgId } }');
    // The documented status of the code, not Apollo's 500 for a failed context.
    expect(r.status).toBe(200);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(r.body.errors?.[0]?.message).toMatch(/pool is exhausted/);
    await held;
    // And the pool recovers: the same key works once the connection is free.
    expect((await gql(ops.gw.url, fresh.key, '{ viewer { orgId } }')).body.data.viewer.orgId).toBe('org_a');
  });

  it('logs statements above SLOW_QUERY_MS with their name and duration', () => {
    const slow = lines.filter((l) => l.msg === 'slow query' && l.query === 'holdConnection');
    expect(slow.length).toBeGreaterThanOrEqual(2);
    expect(slow[0]).toMatchObject({ level: 40, operation: 'select', failed: false });
    expect(slow[0]!.durationMs).toBeGreaterThanOrEqual(1000);
    // Fast statements stay out of it.
    expect(lines.some((l) => l.msg === 'slow query' && l.query === 'findTraces')).toBe(false);
  });
});
