/**
 * Where PostgreSQL's time goes when ingestion writes spans: the gateway's insert statement on
 * the bench's rows, in a scratch database, one connection, statements of BATCH rows, after
 * TRUNCATE each time — with every index, then each index left out in turn (its marginal
 * cost), then variants of the statement. Not a throughput benchmark (bench:ingest is); the
 * ratios say what to change.
 *
 *   /work/tools/heavy npx tsx bench/ingest-db-profile.ts      # results: bench/results/ingest-db-profile.md
 *   PROFILE_ROWS=20480 PROFILE_BATCH=4096 PROFILE_ONLY=all,unique-only npx tsx bench/ingest-db-profile.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrator';
import { mapSpan } from '../src/ingest/genai-mapping';
import { decodeProtobufRequest } from '../src/ingest/otlp-decode';
import { INSERT_UNNEST, UNNEST_SELECT, ingestArrays, type IngestRow } from '../src/ingest/ingest.repository';
import { buildBatch, loadRequestType } from './support/ingest-spans';

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = `gw_i15_dbprof_${process.pid}`;
const ROWS = Number(process.env.PROFILE_ROWS ?? 16_384);
const BATCH = Number(process.env.PROFILE_BATCH ?? 4096);
const ONLY = process.env.PROFILE_ONLY?.split(',');
const RESULTS = path.join(__dirname, 'results');

const uuid = () => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

async function main() {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${DB_NAME}`;
  const handle = await openDatabase(loadConfig({ DATABASE_URL: u.toString(), DATABASE_MODE: 'postgres', LOG_LEVEL: 'silent' }));
  const c = new pg.Client({ connectionString: u.toString() });
  const lines: string[] = [];
  const out = (s: string) => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  try {
    await migrateToLatest(handle);
    await c.connect();
    const type = loadRequestType();
    const rows: IngestRow[] = [];
    const ctx = { orgId: 'org_p', resource: {}, scopeName: 'bench', serviceName: 'bench-app' };
    const opts = { nonLlmSpans: 'drop' as const, maxContentChars: 32_768, maxAgeMs: 170 * 60_000, maxFutureMs: 600_000, now: Date.now() };
    while (rows.length < ROWS) {
      for (const rs of decodeProtobufRequest(buildBatch(type, 512, 'p'))) {
        for (const s of rs.scopes[0]!.spans) {
          const r = mapSpan(s, ctx, () => null, opts);
          if (r.kind === 'row') rows.push({ ...r.row, org_id: 'org_p', project_id: 'p' });
        }
      }
    }
    const batches: unknown[][][] = [];
    const fresh = () => {
      batches.length = 0;
      for (let i = 0; i < ROWS; i += BATCH) batches.push(ingestArrays(rows.slice(i, i + BATCH).map((r) => ({ ...r, id: uuid() }))));
    };
    const indexes = (await c.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'traces' ORDER BY indexname`)).rows;
    const dropAll = async (keep: (n: string) => boolean) => {
      for (const ix of indexes) if (!keep(ix.indexname)) await c.query(`DROP INDEX IF EXISTS ${ix.indexname}`);
    };
    const restore = async () => {
      for (const ix of indexes) await c.query(ix.indexdef.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
    };
    /** ms per 1,000 rows of `text` run over every batch (fresh ids, empty table). */
    const time = async (text: string, setup?: string) => {
      fresh();
      await c.query('TRUNCATE traces');
      const t = performance.now();
      for (const b of batches) {
        await c.query('BEGIN');
        if (setup) await c.query(setup);
        await c.query(text, b);
        await c.query('COMMIT');
      }
      return ((performance.now() - t) / ROWS) * 1000;
    };
    const results: { name: string; msPer1k: number }[] = [];
    const run = async (name: string, f: () => Promise<number>) => {
      if (ONLY && !ONLY.some((o) => name.startsWith(o))) return;
      const msPer1k = await f();
      results.push({ name, msPer1k });
      out(`| ${name} | ${msPer1k.toFixed(1)} | ${Math.round(1e6 / msPer1k)} |`);
    };
    out(`# ingest-db-profile (${new Date().toISOString()})`);
    out('');
    out(`${ROWS} rows (the bench:ingest spans), statements of ${BATCH}, one connection, empty table each time, PostgreSQL ${(await c.query('SHOW server_version')).rows[0].server_version}.`);
    out('');
    out('| variant | ms per 1,000 rows | rows/s |');
    out('|---|---|---|');
    await run('all indexes (the statement as shipped)', () => time(INSERT_UNNEST));
    await run('parse only: SELECT count(*) over the unnest (no insert)', () => time(`SELECT count(*) FROM (${UNNEST_SELECT}) s`));
    await run('search expression only: sum(length(trace_search_values(…)))', () =>
      time(`SELECT sum(length(trace_search_values(input, output, model, user_id, metadata))) FROM (${UNNEST_SELECT}) s`));
    await run('search expression + trigrams: sum(array_length(show_trgm(…)))', () =>
      time(`SELECT sum(array_length(show_trgm(trace_search_values(input, output, model, user_id, metadata)), 1)) FROM (${UNNEST_SELECT}) s`));
    await run('all indexes, plain INSERT (no ON CONFLICT)', () => time(INSERT_UNNEST.replace(' ON CONFLICT DO NOTHING', '')));
    await run('all indexes, synchronous_commit off (for scale only)', () => time(INSERT_UNNEST, 'SET LOCAL synchronous_commit = off'));
    for (const ix of indexes) {
      if (/_id_(ts_)?uq$/.test(ix.indexname)) continue;
      await run(`without ${ix.indexname}`, async () => {
        await c.query(`DROP INDEX ${ix.indexname}`);
        try {
          return await time(INSERT_UNNEST);
        } finally {
          await restore();
        }
      });
    }
    await run('trigram index with fastupdate = off', async () => {
      await c.query('ALTER INDEX traces_search_values_trgm_idx SET (fastupdate = off)');
      try {
        return await time(INSERT_UNNEST);
      } finally {
        await c.query('ALTER INDEX traces_search_values_trgm_idx RESET (fastupdate)');
      }
    });
    await run('trigram pending list 1 GB (no cleanup inline); then gin_clean_pending_list', async () => {
      await c.query('ALTER INDEX traces_search_values_trgm_idx SET (gin_pending_list_limit = 1048576)');
      try {
        const insert = await time(INSERT_UNNEST);
        const t = performance.now();
        await c.query(`SELECT gin_clean_pending_list('traces_search_values_trgm_idx')`);
        const clean = ((performance.now() - t) / ROWS) * 1000;
        out(`| … of which the insert | ${insert.toFixed(1)} | ${Math.round(1e6 / insert)} |`);
        out(`| … and the later cleanup of ${ROWS} rows | ${clean.toFixed(1)} | ${Math.round(1e6 / clean)} |`);
        return insert + clean;
      } finally {
        await c.query('ALTER INDEX traces_search_values_trgm_idx RESET (gin_pending_list_limit)');
      }
    });
    await run('without the five single-column filter indexes (provider, model, status, cost, duration)', async () => {
      const five = ['traces_provider_idx', 'traces_model_idx', 'traces_status_idx', 'traces_cost_idx', 'traces_duration_idx'];
      await dropAll((n) => !five.includes(n));
      try {
        return await time(INSERT_UNNEST);
      } finally {
        await restore();
      }
    });
    await run('without trigram and the five filter indexes', async () => {
      const six = ['traces_provider_idx', 'traces_model_idx', 'traces_status_idx', 'traces_cost_idx', 'traces_duration_idx', 'traces_search_values_trgm_idx'];
      await dropAll((n) => !six.includes(n));
      try {
        return await time(INSERT_UNNEST);
      } finally {
        await restore();
      }
    });
    await run('trigram built in bulk: insert without it, then CREATE INDEX over the rows', async () => {
      const def = indexes.find((i) => i.indexname === 'traces_search_values_trgm_idx')!.indexdef;
      await c.query('DROP INDEX traces_search_values_trgm_idx');
      try {
        const insert = await time(INSERT_UNNEST);
        const t = performance.now();
        await c.query(def);
        const build = ((performance.now() - t) / ROWS) * 1000;
        out(`| … of which the insert | ${insert.toFixed(1)} | ${Math.round(1e6 / insert)} |`);
        out(`| … and CREATE INDEX over the ${ROWS} rows | ${build.toFixed(1)} | ${Math.round(1e6 / build)} |`);
        return insert + build;
      } finally {
        await restore();
      }
    });
    await run('no index but the unique id', async () => {
      await dropAll((n) => /_id_(ts_)?uq$/.test(n));
      try {
        return await time(INSERT_UNNEST);
      } finally {
        await restore();
      }
    });
    await run('unique id + trigram only', async () => {
      await dropAll((n) => /_id_(ts_)?uq$/.test(n) || n === 'traces_search_values_trgm_idx');
      try {
        return await time(INSERT_UNNEST);
      } finally {
        await restore();
      }
    });
    await run('no index at all, plain INSERT', async () => {
      await dropAll(() => false);
      try {
        return await time(INSERT_UNNEST.replace(' ON CONFLICT DO NOTHING', ''));
      } finally {
        await restore();
      }
    });
    out('');
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, 'ingest-db-profile.md'), `${lines.join('\n')}\n`);
    fs.writeFileSync(path.join(RESULTS, 'ingest-db-profile.json'), `${JSON.stringify({ when: new Date().toISOString(), rows: ROWS, batch: BATCH, results }, null, 2)}\n`);
  } finally {
    await c.end().catch(() => undefined);
    await handle.close();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
