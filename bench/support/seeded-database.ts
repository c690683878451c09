import pg from 'pg';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { ALL_ROLLUPS, refreshRollups } from '../../src/db/rollup-refresh';
import { indexSearchTail } from '../../src/db/search-indexer';
import { seedDatabase } from '../../db/seed/loader';

export const BENCH_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A plain-mode benchmark database on the local PostgreSQL holding at least `traces` rows
 * (seed 42, 3 orgs unless told), kept between runs; rollups refreshed and statistics fresh. Returns its URL.
 */
export async function ensureSeededDatabase(opts: { traces: number; days: number; dbName?: string; orgs?: number }): Promise<string> {
  const dbName = opts.dbName ?? process.env.BENCH_DB ?? `gw_bench_${opts.traces}`;
  const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount;
  if (!exists) await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(BENCH_ADMIN_URL);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  const h = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  try {
    const m0 = Date.now();
    const applied = await migrateToLatest(h);
    if (applied.length) process.stderr.write(`migrations ${applied.map((r) => r.migrationName).join(', ')} in ${Date.now() - m0} ms\n`);
    const n = Number((await h.db.selectFrom('traces').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    if (n < opts.traces) {
      process.stderr.write(`seeding ${opts.traces} traces over ${opts.days} days into ${dbName}…\n`);
      await h.db.deleteFrom('scores').execute();
      await h.db.deleteFrom('traces').execute();
      await h.db.deleteFrom('rollup_state').execute();
      const r = await seedDatabase(h, { traces: opts.traces, days: opts.days, orgs: opts.orgs ?? 3, seed: 42 });
      process.stderr.write(`seeded at ${Math.round(r.rowsPerSecond)} rows/s in ${r.seconds.toFixed(1)} s\n`);
    }
    const t = Date.now();
    await refreshRollups(h);
    process.stderr.write(`rollups refreshed in ${Date.now() - t} ms\n`);
    // Plain PostgreSQL: the search index is filled off the write path; a seeded database is
    // settled only once it is drained (else the gateway under test drains it while measured).
    for (let turn = await indexSearchTail(h, 50_000); turn.moved > 0; turn = await indexSearchTail(h, 50_000));
    await sql`VACUUM (ANALYZE) traces`.execute(h.db);
    // And every rollup: a freshly built one has no visibility map yet, so its index-only reads
    // would visit the heap (this machine's PostgreSQL runs without autovacuum).
    for (const r of ALL_ROLLUPS) await sql`VACUUM (ANALYZE) ${sql.table(r.name)}`.execute(h.db);
    await sql`ANALYZE`.execute(h.db);
    process.stderr.write(`settled (search index drained, vacuumed, analyzed) in ${Date.now() - t} ms\n`);
  } finally {
    await h.close();
  }
  return url;
}
