import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase, withTimedRead, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import type { Database } from '../../src/db/schema';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Prepared statements in read batches (src/db/read-batch.ts, DB_PREPARED_STATEMENTS_MAX): a
 * statement that reads a rollup is parsed once per connection under the hash of its text and
 * bound by name afterwards; raw-only statements stay unnamed; each connection keeps at most
 * `max`; after an error the names whose Parse may not have run are closed; a server that does not
 * keep what was prepared (DEALLOCATE, a pooler) or a plan whose result type changed is answered
 * by sending the statements again, never by an error.
 */
describe('prepared statements in read batches (plain PostgreSQL)', () => {
  let tdb: TestDatabase;
  const handles: DatabaseHandle[] = [];
  /** Parse messages sent on pooled connections, by statement name ('' = unnamed). */
  let parses: { name: string; text: string }[] = [];
  const warnings: { obj: object; msg: string }[] = [];

  const open = async (env: Record<string, string> = {}) => {
    const h = await openDatabase(
      loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_POOL_MAX: '1', STATEMENT_TIMEOUT_SIMPLE_MS: '150', ...env }),
      { logger: { warn: (obj, msg) => warnings.push({ obj, msg }) } },
    );
    h.readPool.on('connect', (client: pg.PoolClient) => {
      const con = (client as unknown as { connection: { parse(m: { name: string; text: string }): void } }).connection;
      const parse = con.parse.bind(con);
      con.parse = (m) => {
        parses.push({ name: m.name, text: m.text });
        parse(m);
      };
    });
    handles.push(h);
    return h;
  };
  const prepared = (h: DatabaseHandle) =>
    withTimedRead(h, 'simple', (db) => sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements ORDER BY prepare_time`.execute(db)).then((r) => r.rows);
  const hourly = (db: Kysely<Database>, n: number) =>
    sql<{ n: number; k: number }>`SELECT count(*)::int AS n, ${n}::int AS k FROM traces_1hour WHERE org_id = ${'org_x'} /* probeHourly${sql.raw(String(n))} */`.execute(db).then((r) => r.rows[0]!);

  beforeAll(async () => {
    tdb = await createTestDatabase('prepared');
    const h = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    try {
      await migrateToLatest(h);
    } finally {
      await h.close();
    }
  }, 60_000);
  beforeEach(() => {
    parses = [];
    warnings.length = 0;
  });
  afterAll(async () => {
    for (const h of handles) await h.close();
    await tdb?.drop();
  });

  it('parses a rollup statement once per connection under the hash of its text, then binds it by name', async () => {
    const h = await open();
    const first = await withTimedRead(h, 'simple', (db) => hourly(db, 1));
    expect(first).toEqual({ n: 0, k: 1 });
    const named = parses.filter((p) => p.name !== '');
    expect(named).toHaveLength(1);
    expect(named[0]!.name).toMatch(/^gw_[0-9a-f]{40}$/);
    expect(named[0]!.text).toContain('probeHourly1');
    parses = [];
    for (let i = 0; i < 3; i++) expect(await withTimedRead(h, 'simple', (db) => hourly(db, 1))).toEqual({ n: 0, k: 1 });
    // Only the settings (unnamed) were parsed again; the statement was bound by name.
    expect(parses.filter((p) => p.text.includes('probeHourly1'))).toEqual([]);
    const onServer = await prepared(h);
    expect(onServer.map((s) => s.name)).toEqual([named[0]!.name]);
    expect(onServer[0]!.statement).toContain('probeHourly1');
  });

  const plans = (h: DatabaseHandle) =>
    withTimedRead(h, 'simple', (db) =>
      sql<{ statement: string; generic: number; custom: number }>`SELECT statement, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements`.execute(db),
    ).then((r) => r.rows);
  const mode = (db: Kysely<Database>, rollup: boolean) =>
    (rollup
      ? sql<{ m: string }>`SELECT current_setting('plan_cache_mode') AS m, count(*) FROM traces_1hour WHERE org_id = ${'org_x'} /* probeModeRollup */`
      : sql<{ m: string }>`SELECT current_setting('plan_cache_mode') AS m, count(*) FROM traces WHERE org_id = ${'org_x'} /* probeModeRaw */`
    )
      .execute(db)
      .then((r) => r.rows[0]!.m);

  it('plans a prepared statement once per connection (force_generic_plan), or as the server chooses with DB_PREPARED_PLAN_CACHE_MODE=auto', async () => {
    const h = await open();
    for (let i = 0; i < 3; i++) expect(await withTimedRead(h, 'simple', (db) => hourly(db, 1))).toEqual({ n: 0, k: 1 });
    expect((await plans(h)).filter((p) => p.statement.includes('probeHourly1'))).toEqual([expect.objectContaining({ generic: 3, custom: 0 })]);

    const auto = await open({ DB_PREPARED_PLAN_CACHE_MODE: 'auto' });
    parses = [];
    for (let i = 0; i < 3; i++) expect(await withTimedRead(auto, 'simple', (db) => hourly(db, 1))).toEqual({ n: 0, k: 1 });
    // The server's choice: custom plans for the first five executions of a statement with parameters.
    expect((await plans(auto)).filter((p) => p.statement.includes('probeHourly1'))).toEqual([expect.objectContaining({ generic: 0, custom: 3 })]);
    // auto sends no switch at all.
    expect(parses.filter((p) => p.text.includes('planCacheMode'))).toEqual([]);
    expect(() => loadConfig({ DB_PREPARED_PLAN_CACHE_MODE: 'always' })).toThrow(/DB_PREPARED_PLAN_CACHE_MODE/);
  });

  it('sets the plan mode for the prepared statements of a batch only: unnamed ones, before or after, keep the session\'s, and nothing outlives the read', async () => {
    const h = await open();
    const session = await withTimedRead(h, 'simple', (db) => mode(db, false));
    expect(session).toBe('auto');
    // One pipeline: raw, rollup, raw, rollup, rollup, raw; each answer is its own statement's.
    const seen = await withTimedRead(h, 'simple', (db) => Promise.all([false, true, false, true, true, false].map((r) => mode(db, r))));
    expect(seen).toEqual(['auto', 'force_generic_plan', 'auto', 'force_generic_plan', 'force_generic_plan', 'auto']);
    // The connection's next read (the pool holds one) starts from the session's setting again.
    expect(await withTimedRead(h, 'simple', (db) => mode(db, false))).toBe('auto');
    expect(await withTimedRead(h, 'simple', (db) => sql<{ m: string }>`SELECT current_setting('plan_cache_mode') AS m`.execute(db).then((r) => r.rows[0]!.m))).toBe('auto');
  });

  it('answers every statement of a mixed batch in which one fails, and the next read runs as the session would', async () => {
    const h = await open();
    const failing = (db: Kysely<Database>) => sql`SELECT 1 / (count(*) - count(*)) FROM traces WHERE org_id = ${'org_x'} /* probeFail */`.execute(db);
    const outcomes = await withTimedRead(h, 'simple', (db) => Promise.allSettled([mode(db, true), failing(db), mode(db, true)]));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(((outcomes[1] as PromiseRejectedResult).reason as { code?: string }).code).toBe('22012');
    expect(await withTimedRead(h, 'simple', (db) => Promise.all([mode(db, false), mode(db, true)]))).toEqual(['auto', 'force_generic_plan']);
  });

  it('keeps raw-only statements unnamed', async () => {
    const h = await open();
    for (let i = 0; i < 2; i++) {
      await withTimedRead(h, 'simple', (db) => sql`SELECT count(*) FROM traces WHERE org_id = ${'org_x'} /* probeRaw */`.execute(db));
    }
    expect(parses.filter((p) => p.text.includes('probeRaw')).map((p) => p.name)).toEqual(['', '']);
    expect(await prepared(h)).toEqual([]);
  });

  it('keeps at most DB_PREPARED_STATEMENTS_MAX per connection, closing the least recently used; 0 prepares none', async () => {
    const h = await open({ DB_PREPARED_STATEMENTS_MAX: '2' });
    for (const n of [1, 2, 1, 3]) await withTimedRead(h, 'simple', (db) => hourly(db, n));
    // 2 was used least recently when 3 came: closed on that round trip.
    expect((await prepared(h)).map((s) => /probeHourly(\d)/.exec(s.statement)![1]).sort()).toEqual(['1', '3']);
    // Used again, it is parsed again and answers.
    parses = [];
    expect(await withTimedRead(h, 'simple', (db) => hourly(db, 2))).toEqual({ n: 0, k: 2 });
    expect(parses.filter((p) => p.name !== '')).toHaveLength(1);
    expect((await prepared(h)).length).toBe(2);

    const off = await open({ DB_PREPARED_STATEMENTS_MAX: '0' });
    parses = [];
    for (let i = 0; i < 2; i++) await withTimedRead(off, 'simple', (db) => hourly(db, 1));
    expect(parses.every((p) => p.name === '')).toBe(true);
    expect(await prepared(off)).toEqual([]);
  });

  it('closes the names of statements a failing round trip skipped, so the next read parses them afresh', async () => {
    const h = await open();
    const slow = (db: Kysely<Database>, s: number) =>
      sql<{ n: number }>`SELECT count(*)::int AS n, pg_sleep(${s}) IS NULL AS slept FROM traces_1hour /* probeSlow */`.execute(db);
    const outcomes = await withTimedRead(h, 'simple', (db) => Promise.allSettled([hourly(db, 7), slow(db, 1), hourly(db, 8)]));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(((outcomes[1] as PromiseRejectedResult).reason as { code?: string }).code).toBe('57014');
    const again = await withTimedRead(h, 'simple', (db) => Promise.all([hourly(db, 7), slow(db, 0), hourly(db, 8)]));
    expect(again[0]).toEqual({ n: 0, k: 7 });
    expect(again[1].rows[0]).toMatchObject({ n: 0 });
    expect(again[2]).toEqual({ n: 0, k: 8 });
    expect(warnings).toEqual([]);
    expect((await prepared(h)).map((s) => s.statement.match(/probe\w+/)![0]).sort()).toEqual(['probeHourly7', 'probeHourly8', 'probeSlow']);
  });

  it('answers when the server no longer has what the connection prepared: sent again unnamed, prepared statements off, logged once', async () => {
    const h = await open();
    expect(await withTimedRead(h, 'simple', (db) => hourly(db, 4))).toEqual({ n: 0, k: 4 });
    // What a pooler does when the next transaction lands on another server connection.
    await withTimedRead(h, 'simple', (db) => sql`DEALLOCATE ALL`.execute(db));
    const seen: string[] = [];
    const stop = h.addQueryListener((e) => seen.push(e.level));
    expect(await withTimedRead(h, 'simple', (db) => Promise.all([hourly(db, 4), hourly(db, 5)]))).toEqual([{ n: 0, k: 4 }, { n: 0, k: 5 }]);
    stop();
    expect(seen).not.toContain('error');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/prepared statements turned off/);
    expect(warnings[0]!.obj).toMatchObject({ err: { code: '26000' } });
    parses = [];
    expect(await withTimedRead(h, 'simple', (db) => hourly(db, 6))).toEqual({ n: 0, k: 6 });
    expect(parses.every((p) => p.name === '')).toBe(true);
    expect(await prepared(h)).toEqual([]);
    expect(warnings).toHaveLength(1);
  });

  it('answers when a migration changed what a prepared statement returns: parsed again, still prepared', async () => {
    const h = await open();
    const star = (db: Kysely<Database>) => sql<Record<string, unknown>>`SELECT * FROM traces_1day WHERE org_id = ${'org_probe'} LIMIT 1 /* probeStar */`.execute(db);
    await sql`INSERT INTO traces_1day (bucket, org_id, request_count) VALUES ('2026-01-01T00:00:00Z', 'org_probe', 7)`.execute(h.db);
    try {
      const before = (await withTimedRead(h, 'simple', star)).rows;
      expect(before).toEqual([expect.objectContaining({ org_id: 'org_probe', request_count: '7' })]);
      expect(before[0]).not.toHaveProperty('probe_extra');
      await sql`ALTER TABLE traces_1day ADD COLUMN probe_extra int DEFAULT 5`.execute(h.db);
      // The same name now returns one more column: its rows are read with the new columns.
      const r = await withTimedRead(h, 'simple', star);
      expect(r.rows).toEqual([{ ...before[0], probe_extra: 5 }]);
      expect(warnings).toEqual([]);
      // Still prepared: the new text of the same name.
      expect((await prepared(h)).map((s) => s.statement)).toEqual([expect.stringContaining('probeStar')]);
    } finally {
      await sql`ALTER TABLE traces_1day DROP COLUMN IF EXISTS probe_extra`.execute(h.db);
      await sql`DELETE FROM traces_1day WHERE org_id = 'org_probe'`.execute(h.db);
    }
  });
});
