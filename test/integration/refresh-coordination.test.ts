import pino from 'pino';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/app';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { ALL_ROLLUPS, runMaintenance } from '../../src/db/rollup-refresh';
import { opsEnv } from '../support/ops-gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { findPgbouncer, startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { buildTraces, ensureOrgs, insertTraces } from '../support/trace-builder';

const bin = findPgbouncer();
if (!bin) process.stdout.write('skipped: pgbouncer not found (Debian package `pgbouncer`; .ci/run installs it)\n');
const describeWithPgbouncer = bin ? describe : describe.skip;

/**
 * Several gateways on one plain-PostgreSQL database, through PgBouncer in transaction mode:
 * the refresh takes a transaction-level advisory lock, so only one instance refreshes per
 * interval, nobody collides on the rollups' unique keys, and retention still runs.
 */
describeWithPgbouncer('rollup maintenance with several instances on one database', () => {
  let bouncer: PgBouncer;
  let tdb: TestDatabase;
  let a: DatabaseHandle;
  let b: DatabaseHandle;
  const NOW = Date.now();

  beforeAll(async () => {
    bouncer = await startPgBouncer(bin!, { poolSize: 4 });
    tdb = await createTestDatabase('coord');
    const direct = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    try {
      await migrateToLatest(direct);
      await ensureOrgs(direct.db, ['org_a', 'org_b']);
      await insertTraces(direct.db, buildTraces(600, { from: new Date(NOW - 4 * 86_400_000), to: new Date(NOW), seed: 31 }));
      // Past the 90-day retention: retention must delete these.
      await insertTraces(direct.db, buildTraces(50, { from: new Date(NOW - 100 * 86_400_000), to: new Date(NOW - 95 * 86_400_000), seed: 32 }));
    } finally {
      await direct.close();
    }
    const env = { DATABASE_URL: bouncer.urlFor(tdb.name), DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' };
    a = await openDatabase(loadConfig(env));
    b = await openDatabase(loadConfig(env));
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await bouncer?.stop();
    await tdb?.drop();
  });

  it('exactly one of two simultaneous turns refreshes; retention runs; the rollups are right', async () => {
    const inserts: string[] = [];
    const offA = a.addQueryListener((e) => /^INSERT INTO "traces_1min"/.test(e.query.sql) && inserts.push('a'));
    const offB = b.addQueryListener((e) => /^INSERT INTO "traces_1min"/.test(e.query.sql) && inserts.push('b'));
    try {
      for (let round = 0; round < 4; round++) {
        const now = new Date(NOW + round * 60_000);
        const turns = await Promise.all([
          runMaintenance(a, { retentionDays: 90, minGapMs: 30_000, now }),
          runMaintenance(b, { retentionDays: 90, minGapMs: 30_000, now }),
        ]);
        expect(turns.filter((t) => t.refreshed)).toHaveLength(1);
        if (round === 0) expect(turns.reduce((n, t) => n + t.deleted, 0)).toBe(50);
      }
    } finally {
      offA();
      offB();
    }
    // One refresh of the minute rollup per round, whichever instance won it.
    expect(inserts).toHaveLength(4);
    const old = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE ts < ${new Date(NOW - 90 * 86_400_000)}`.execute(a.db);
    expect(old.rows[0]!.n).toBe(0);
    const mark = await a.db.selectFrom('rollup_state').select('refreshed_to').where('rollup', '=', 'traces_1hour').executeTakeFirstOrThrow();
    const direct = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE ts < ${mark.refreshed_to}`.execute(a.db);
    const rolled = await sql<{ n: number }>`SELECT coalesce(sum(request_count), 0)::int AS n FROM traces_1hour`.execute(a.db);
    expect(rolled.rows[0]!.n).toBe(direct.rows[0]!.n);
  }, 120_000);

  it('a failing refresh still lets retention run, and reports the refresh error', async () => {
    await insertTraces(a.db, buildTraces(20, { from: new Date(NOW - 100 * 86_400_000), to: new Date(NOW - 95 * 86_400_000), seed: 33 }));
    await sql`ALTER TABLE scores_1hour RENAME TO scores_1hour_away`.execute(a.db);
    try {
      await expect(runMaintenance(a, { retentionDays: 90, now: new Date(NOW + 10 * 60_000) })).rejects.toThrow(/scores_1hour/);
    } finally {
      await sql`ALTER TABLE scores_1hour_away RENAME TO scores_1hour`.execute(a.db);
    }
    const old = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE ts < ${new Date(NOW - 90 * 86_400_000)}`.execute(a.db);
    expect(old.rows[0]!.n).toBe(0);
    // The failed refresh rolled back as a whole: the next turn refreshes everything again.
    const again = await runMaintenance(a, { retentionDays: 90, now: new Date(NOW + 11 * 60_000) });
    expect(again.refreshed).toBe(true);
  }, 120_000);

  it('two gateways with a fast maintenance loop log no refresh errors', async () => {
    const lines: string[] = [];
    const logger = () => pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const env = opsEnv(bouncer.urlFor(tdb.name), { ROLLUP_REFRESH_INTERVAL_MS: '150', DB_POOL_MAX: '4' });
    const gws: RunningGateway[] = [];
    try {
      gws.push(await startGateway(loadConfig(env), logger()));
      gws.push(await startGateway(loadConfig(env), logger()));
      const before = await a.db.selectFrom('rollup_state').select('updated_at').where('rollup', '=', 'maintenance').executeTakeFirstOrThrow();
      await new Promise((r) => setTimeout(r, 3000));
      const after = await a.db.selectFrom('rollup_state').select('updated_at').where('rollup', '=', 'maintenance').executeTakeFirstOrThrow();
      expect(new Date(after.updated_at).getTime()).toBeGreaterThan(new Date(before.updated_at).getTime());
    } finally {
      for (const g of gws) await g.stop();
    }
    expect(lines.filter((l) => /maintenance failed|duplicate key/.test(l))).toEqual([]);
    expect(ALL_ROLLUPS.length).toBeGreaterThan(3);
  }, 120_000);
});
