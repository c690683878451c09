import pg from 'pg';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase, withTimedRead, type DatabaseHandle } from '../../src/db/database';
import { fromDatabaseError } from '../../src/shared/errors';
import { createTestDatabase, terminateBackendsRunning, type TestDatabase } from '../support/postgres';

/**
 * Timed reads in server modes (src/db/read-batch.ts): the statements a read starts side by side
 * go to the server with their settings in one pipelined round trip, the settings hold for them
 * only, and errors (timeouts, bad statements, a terminated backend) reject exactly the statements
 * they stopped while the pooled connection stays clean or is dropped.
 */
describe('read batches (plain PostgreSQL)', () => {
  let tdb: TestDatabase;
  let handle: DatabaseHandle;
  /** client.query calls made on pooled connections (one per round trip of a read batch). */
  let submits = 0;

  beforeAll(async () => {
    tdb = await createTestDatabase('read_batch');
    // One connection: every read below reuses the connection the one before it left behind.
    handle = await openDatabase(
      loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_POOL_MAX: '1', STATEMENT_TIMEOUT_SIMPLE_MS: '150', STATEMENT_TIMEOUT_AGGREGATE_MS: '400' }),
    );
    handle.readPool.on('connect', (client: pg.PoolClient) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        submits++;
        return query(...args);
      };
    });
    await sql`CREATE TABLE probe (v int)`.execute(handle.db);
  }, 60_000);
  afterAll(async () => {
    await handle?.close();
    await tdb?.drop();
  });

  const setting = (db: typeof handle.db, name: string) => sql<{ v: string }>`SELECT current_setting(${name}) AS v`.execute(db).then((r) => r.rows[0]!.v);
  const roundTrips = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const before = submits;
    const out = await fn();
    return [out, submits - before];
  };

  it('is what server modes use, and DB_READ_BATCH=false turns it off', async () => {
    expect(handle.readBatch).toBeDefined();
    const off = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_POOL_MAX: '1', DB_READ_BATCH: 'false' }));
    try {
      expect(off.readBatch).toBeUndefined();
      const seen: string[] = [];
      const stop = off.addQueryListener((e) => seen.push(e.query.sql));
      expect(await withTimedRead(off, 'simple', (db) => setting(db, 'statement_timeout'))).toBe('5s');
      stop();
      expect(seen[0]).toMatch(/^BEGIN; SET LOCAL statement_timeout = 5000/);
      expect(seen.at(-1)).toBe('COMMIT');
    } finally {
      await off.close();
    }
  });

  it('sends side-by-side statements with their settings in one round trip, and leaves no setting behind', async () => {
    const [r, trips] = await roundTrips(() =>
      withTimedRead(handle, 'aggregate', (db) =>
        Promise.all([
          setting(db, 'statement_timeout'),
          setting(db, 'enable_parallel_append'),
          sql<{ t: Date; x: number }>`SELECT now() AS t, ${41}::int + 1 AS x`.execute(db).then((q) => q.rows[0]!),
          sql<{ t: Date }>`SELECT now() AS t`.execute(db).then((q) => q.rows[0]!),
        ]),
      ),
    );
    expect(trips).toBe(1);
    expect(r[0]).toBe('400ms');
    expect(r[1]).toBe('off');
    expect(r[2].x).toBe(42);
    // One transaction: the same now().
    expect(r[3].t.getTime()).toBe(r[2].t.getTime());
    expect(await setting(handle.db, 'statement_timeout')).toBe('0');
    expect(await setting(handle.db, 'enable_parallel_append')).toBe('on');
  });

  it('sends a statement that waits for an earlier answer in the next round trip, under the same settings', async () => {
    const [r, trips] = await roundTrips(() =>
      withTimedRead(handle, 'simple', async (db) => {
        const first = (await sql<{ n: number }>`SELECT 7 AS n`.execute(db)).rows[0]!.n;
        return [first, await setting(db, 'statement_timeout'), (await sql<{ m: number }>`SELECT ${first}::int * 2 AS m`.execute(db)).rows[0]!.m] as const;
      }),
    );
    expect(r).toEqual([7, '150ms', 14]);
    expect(trips).toBe(3);
  });

  it('passes values as parameters, as pg does (dates, arrays, nulls, quotes)', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const r = await withTimedRead(handle, 'simple', (db) =>
      sql<{ d: Date; a: string[]; n: null; s: string; len: number }>`SELECT ${at}::timestamptz AS d, ${['a', "b'c", 'd,e', '{x}']}::text[] AS a, ${null}::text AS n, ${"it's $1 -- /*"}::text AS s, cardinality(${['1', '2']}::text[]) AS len`.execute(db),
    );
    expect(r.rows[0]).toEqual({ d: at, a: ['a', "b'c", 'd,e', '{x}'], n: null, s: "it's $1 -- /*", len: 2 });
  });

  it('cancels a statement past the timeout: the ones before it answer, the ones after it reject with it, the connection stays clean', async () => {
    await sql`INSERT INTO probe VALUES (1)`.execute(handle.db);
    const seen: { sql: string; level: string }[] = [];
    const stop = handle.addQueryListener((e) => seen.push({ sql: e.query.sql, level: e.level }));
    const outcomes = await withTimedRead(handle, 'simple', (db) =>
      Promise.allSettled([
        sql<{ n: number }>`SELECT count(*)::int AS n FROM probe`.execute(db),
        sql`SELECT pg_sleep(2)`.execute(db),
        sql`SELECT 1 AS after`.execute(db),
      ]),
    );
    stop();
    expect(outcomes[0].status).toBe('fulfilled');
    expect(outcomes[0].status === 'fulfilled' && outcomes[0].value.rows[0]).toEqual({ n: 1 });
    const codes = outcomes.slice(1).map((o) => (o.status === 'rejected' ? (o.reason as { code?: string }).code : 'fulfilled'));
    expect(codes).toEqual(['57014', '57014']);
    expect(seen.map((s) => s.level)).toEqual(['query', 'query', 'error', 'error']);
    expect(seen[0]!.sql).toMatch(/set_config\('statement_timeout', '150', true\)/);
    // The same (only) connection, outside any transaction and without the 150 ms.
    expect(await setting(handle.db, 'statement_timeout')).toBe('0');
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(handle.db)).rows[0]).toEqual({ one: 1 });
  });

  it('rejects a failing statement with its own error and keeps the connection', async () => {
    const err = await withTimedRead(handle, 'simple', (db) => sql`SELECT 1 / 0`.execute(db)).then(() => null, (e: unknown) => e as { code?: string });
    expect(err?.code).toBe('22012');
    const nul = await withTimedRead(handle, 'simple', (db) => sql`SELECT ${'a\u0000b'}::text AS s`.execute(db)).then(() => null, (e: unknown) => e as { code?: string });
    expect(nul?.code).toBe('22021');
    expect(await withTimedRead(handle, 'simple', (db) => setting(db, 'statement_timeout'))).toBe('150ms');
  });

  it('keeps the connection until a statement the read did not wait for is answered', async () => {
    const err = await withTimedRead(handle, 'simple', async (db) => {
      void sql`SELECT pg_sleep(0.05)`.execute(db).catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      throw new Error('the read gave up');
    }).catch((e: Error) => e);
    expect(err.message).toBe('the read gave up');
    // The one pooled connection came back clean: usable at once, no statement of the read left running on it.
    expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(handle.db)).rows[0]).toEqual({ one: 1 });
  });

  it('drops the connection of a terminated backend (57P01, SERVICE_UNAVAILABLE) and reads on a new one', async () => {
    const failed = withTimedRead(handle, 'aggregate', (db) => sql`SELECT pg_sleep(3) /* terminateBatch */`.execute(db)).then(() => null, (e: unknown) => e as Error & { code?: string });
    await new Promise((r) => setTimeout(r, 150));
    expect(await terminateBackendsRunning(tdb.name, 'terminateBatch')).toBe(1);
    const err = await failed;
    expect(err?.code).toBe('57P01');
    expect(fromDatabaseError(err)?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(await withTimedRead(handle, 'simple', (db) => setting(db, 'statement_timeout'))).toBe('150ms');
  });
});
