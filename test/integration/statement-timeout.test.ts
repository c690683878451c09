import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase, withStatementTimeout, type DatabaseHandle } from '../../src/db/database';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * withStatementTimeout opens its transaction and sets the timeout in one message
 * (`BEGIN; SET LOCAL statement_timeout = <ms>`): the timeout holds inside, the transaction is
 * all or nothing, and nothing outlives it on the pooled connection.
 */
describe('withStatementTimeout (plain PostgreSQL)', () => {
  let tdb: TestDatabase;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    tdb = await createTestDatabase('stmt_timeout');
    // One connection: every call below reuses the connection the one before it left behind.
    handle = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_POOL_MAX: '1', STATEMENT_TIMEOUT_SIMPLE_MS: '150' }));
    await sql`CREATE TABLE probe (v int)`.execute(handle.db);
  }, 60_000);
  afterAll(async () => {
    await handle?.close();
    await tdb?.drop();
  });

  const timeout = (db = handle.db) => sql<{ t: string }>`SELECT current_setting('statement_timeout') AS t`.execute(db).then((r) => r.rows[0]!.t);

  it('sets the class timeout inside and leaves none behind', async () => {
    const inside = await withStatementTimeout(handle, handle.db, 'simple', (trx) => timeout(trx));
    expect(inside).toBe('150ms');
    expect(await timeout()).toBe('0');
  });

  it('cancels a statement past the timeout, rolls the transaction back and leaves the connection usable', async () => {
    const err = await withStatementTimeout(handle, handle.db, 'simple', async (trx) => {
      await sql`INSERT INTO probe VALUES (1)`.execute(trx);
      await sql`SELECT pg_sleep(2)`.execute(trx);
    }).catch((e: unknown) => e as { code?: string });
    expect(err?.code).toBe('57014');
    // The same (only) connection: not left in the aborted transaction (that would refuse this
    // statement), nor inside it (the 150 ms would still be set), and the insert is gone.
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM probe`.execute(handle.db);
    expect(after.rows[0]).toEqual({ n: 0 });
    expect(await timeout()).toBe('0');
  });

  it('commits what the function wrote and returns its value', async () => {
    const v = await withStatementTimeout(handle, handle.db, 'simple', async (trx) => {
      await sql`INSERT INTO probe VALUES (7)`.execute(trx);
      return 'done';
    });
    expect(v).toBe('done');
    const { rows } = await sql<{ v: number }>`SELECT v FROM probe`.execute(handle.db);
    expect(rows).toEqual([{ v: 7 }]);
  });

  it('rolls back when the function throws, and rethrows its error (not the rollback)', async () => {
    const boom = new Error('boom');
    const err = await withStatementTimeout(handle, handle.db, 'simple', async (trx) => {
      await sql`INSERT INTO probe VALUES (8)`.execute(trx);
      throw boom;
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
    const { rows } = await sql<{ v: number }>`SELECT v FROM probe ORDER BY v`.execute(handle.db);
    expect(rows).toEqual([{ v: 7 }]);
  });
});
