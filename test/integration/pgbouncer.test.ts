import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/app';
import { openDatabase, withStatementTimeout } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { refreshRollups } from '../../src/db/rollup-refresh';
import { gql } from '../support/gateway';
import { opsEnv, seedOps } from '../support/ops-gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { findPgbouncer, startPgBouncer, type PgBouncer } from '../support/pgbouncer';

const bin = findPgbouncer();
if (!bin) process.stdout.write('skipped: pgbouncer not found (Debian package `pgbouncer`; .ci/run installs it)\n');
const describeWithPgbouncer = bin ? describe : describe.skip;

/**
 * Transaction pooling hands each transaction (or lone statement) to whichever server
 * connection is free: anything that outlives a transaction on a connection (SET, named
 * prepared statements, temp tables, advisory session locks) would leak to other clients or
 * be missing on the next statement. Two server connections serve a pool of ten here.
 */
describeWithPgbouncer('through PgBouncer in transaction mode', () => {
  let bouncer: PgBouncer;
  let tdb: TestDatabase;
  let gw: RunningGateway;
  let key: string;
  /** The gateway's warnings and errors (pino lines). */
  const logLines: string[] = [];
  const querySpy = jest.spyOn(pg.Client.prototype, 'query');

  beforeAll(async () => {
    bouncer = await startPgBouncer(bin!, { poolSize: 2 });
    tdb = await createTestDatabase('bouncer');
    // Migrations run directly against PostgreSQL, as a deploy job would.
    const direct = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    try {
      await migrateToLatest(direct);
      key = (await seedOps(direct.db, 200)).key;
      await refreshRollups(direct);
    } finally {
      await direct.close();
    }
    const config = loadConfig(opsEnv(bouncer.urlFor(tdb.name), { DB_POOL_MAX: '10', STATEMENT_TIMEOUT_SIMPLE_MS: '200' }));
    gw = await startGateway(config, pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) }));
  });
  afterAll(async () => {
    querySpy.mockRestore();
    await gw?.stop();
    await bouncer?.stop();
    await tdb?.drop();
  });

  it('serves GraphQL queries, including many at once', async () => {
    const one = await gql(gw.url, key, '{ traces(first: 5) { totalCount nodes { id model } } }');
    expect(one.body.errors).toBeUndefined();
    expect(one.body.data.traces.nodes).toHaveLength(5);
    const id = one.body.data.traces.nodes[0].id;

    const many = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? gql(gw.url, key, '{ traces(first: 20, orderBy: {field: COST, direction: DESC}) { totalCount nodes { id } } }')
          : gql(gw.url, key, 'query($id: ID!) { trace(id: $id) { id } }', { id }),
      ),
    );
    for (const r of many) expect(r.body.errors).toBeUndefined();
    expect(many.filter((r) => r.body.data.trace?.id === id)).toHaveLength(20);

    const ready = (await (await fetch(gw.url.replace('/graphql', '/health/ready'))).json()) as any;
    expect(ready.status).toBe('healthy');
  });

  it('applies withStatementTimeout per transaction, without leaking it to the next client of the connection', async () => {
    const handle = gw.services.database;
    const err = await withStatementTimeout(handle, handle.readDb, 'simple', (trx) => sql`SELECT pg_sleep(1)`.execute(trx)).catch((e) => e);
    expect(err?.code).toBe('57014');
    // Many lone statements, spread over both server connections: none sees the 200 ms.
    const seen = await Promise.all(
      Array.from({ length: 20 }, () => sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(handle.db)),
    );
    for (const r of seen) expect(r.rows[0]!.statement_timeout).toBe('0');
    // And the timeout is there inside the transaction that asked for it.
    const inside = await withStatementTimeout(handle, handle.db, 'simple', (trx) => sql<{ statement_timeout: string }>`SHOW statement_timeout`.execute(trx));
    expect(inside.rows[0]!.statement_timeout).toBe('200ms');
  });

  it('answers reports over rollups: prepared statements, which this PgBouncer cannot carry, are found out and turned off without a failed request', async () => {
    const report = '{ performance(range: {last: "24h"}, groupBy: [MODEL], interval: HOUR) { totals { requestCount latency { p95Ms } } groups { key { model } stats { requestCount } } } }';
    const expected = await gql(gw.url, key, report);
    expect(expected.body.errors).toBeUndefined();
    expect(expected.body.data.performance.totals.requestCount).toBeGreaterThan(0);
    // Ten client connections on two server connections: a statement one prepared is missing on the
    // other server connection, or already there under its name when a third prepares it.
    const many = await Promise.all(Array.from({ length: 40 }, () => gql(gw.url, key, report)));
    for (const r of many) expect([r.body.errors, r.body.data]).toEqual([undefined, expected.body.data]);
    const again = await Promise.all(Array.from({ length: 20 }, () => gql(gw.url, key, report)));
    for (const r of again) expect([r.body.errors, r.body.data]).toEqual([undefined, expected.body.data]);
    const warned = logLines.filter((l) => l.includes('prepared statements turned off'));
    const version = /PgBouncer (\d+)\.(\d+)/.exec(bouncer.log())?.slice(1).map(Number);
    // PgBouncer 1.21+ with max_prepared_statements carries them; the packaged 1.18 does not.
    if (!version || version[0]! === 1 && version[1]! < 21) expect(warned).toHaveLength(1);
    expect(logLines.filter((l) => /"level":50/.test(l))).toEqual([]);
  });

  it("sends Kysely's statements unnamed (pg names none unless a query is given a name)", () => {
    expect(querySpy.mock.calls.length).toBeGreaterThan(50);
    const named = querySpy.mock.calls.filter(([arg]) => typeof arg === 'object' && arg !== null && 'name' in arg && (arg as { name?: unknown }).name);
    expect(named).toEqual([]);
  });

  it('really went through PgBouncer, and PgBouncer logged no protocol errors', async () => {
    const admin = new pg.Client({ host: '127.0.0.1', port: bouncer.port, user: 'postgres', database: 'pgbouncer' });
    await admin.connect();
    try {
      const { rows } = await admin.query('SHOW STATS');
      const mine = rows.find((r: any) => r.database === tdb.name);
      expect(Number(mine?.total_xact_count)).toBeGreaterThan(20);
      const pools = await admin.query('SHOW POOLS');
      const pool = pools.rows.find((r: any) => r.database === tdb.name);
      expect(pool?.pool_mode).toBe('transaction');
    } finally {
      await admin.end();
    }
    expect(bouncer.log()).not.toMatch(/prepared statement .* does not exist|unsupported startup parameter/i);
  });
});
