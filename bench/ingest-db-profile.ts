/**
 * Where PostgreSQL's time goes when ingestion writes spans (plain PostgreSQL, the schema as
 * migrated): the gateway's insert statement on the bench's rows, in a scratch database, one
 * connection, statements of BATCH rows, after TRUNCATE each time — as shipped, then variants
 * of the statement, each secondary index left out in turn (its marginal cost), and the search
 * indexer's turn over the rows the statement enqueued. Each variant reports wall time and the
 * CPU time of the backend (from /proc, so other load on the machine inflates wall time but
 * hardly the CPU figure). Not a throughput benchmark (bench:ingest is); the ratios say what
 * to change.
 *
 *   /work/tools/heavy npx tsx bench/ingest-db-profile.ts      # results: bench/results/ingest-db-profile.md
 *   PROFILE_ROWS=20480 PROFILE_BATCH=4096 PROFILE_ONLY='shipped|copy' npx tsx bench/ingest-db-profile.ts
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
import * as repo from '../src/ingest/ingest.repository';
import { buildBatch, loadRequestType } from './support/ingest-spans';
import { cpuMicros } from './support/process-stats';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { copyChunks } from '../src/ingest/copy-text';

/** COPY the batch into the staging table (made in this transaction unless `create` is empty), then one INSERT … SELECT. */
const viaCopy = (create: string, insert: string): Writer => async (cl, b) => {
  if (create) await cl.query(create);
  await pipeline(Readable.from(copyChunks(b)), cl.query(copyFrom(repo.COPY_STAGE)));
  await cl.query(insert);
};

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = process.env.PROFILE_DB ?? `gw_i15_dbprof_${process.pid}`;
const ROWS = Number(process.env.PROFILE_ROWS ?? 16_384);
const BATCH = Number(process.env.PROFILE_BATCH ?? 4096);
const ONLY = process.env.PROFILE_ONLY?.split('|');
const RESULTS = path.join(__dirname, 'results');

const uuid = () => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

type Cost = { wall: number; cpu: number };
/** A way to write one batch of rows over the connection. */
type Writer = (c: pg.Client, rows: readonly repo.IngestRow[]) => Promise<unknown>;

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
    const backend = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const type = loadRequestType();
    const rows: repo.IngestRow[] = [];
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
    const indexes = (await c.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'traces' ORDER BY indexname`)).rows;
    const dropAll = async (keep: (n: string) => boolean) => {
      for (const ix of indexes) if (!keep(ix.indexname)) await c.query(`DROP INDEX IF EXISTS ${ix.indexname}`);
    };
    const restore = async () => {
      for (const ix of indexes) await c.query(ix.indexdef.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
    };
    const measure = async (f: () => Promise<void>): Promise<Cost> => {
      const cpu0 = cpuMicros(backend);
      const t = performance.now();
      await f();
      return { wall: ((performance.now() - t) / ROWS) * 1000, cpu: (cpuMicros(backend) - cpu0) / ROWS };
    };
    /** µs per row of writing every batch (fresh ids, empty tables), one transaction each. */
    const time = async (write: Writer, setup?: string): Promise<Cost> => {
      const batches: repo.IngestRow[][] = [];
      for (let i = 0; i < ROWS; i += BATCH) batches.push(rows.slice(i, i + BATCH).map((r) => ({ ...r, id: uuid() })));
      await c.query('TRUNCATE traces, trace_search, trace_search_pending');
      await c.query('CHECKPOINT');
      return measure(async () => {
        for (const b of batches) {
          await c.query('BEGIN');
          if (setup) await c.query(setup);
          await write(c, b);
          await c.query('COMMIT');
        }
      });
    };
    const statement = (text: string): Writer => (cl, b) => cl.query(text, repo.ingestArrays(b));
    const results: { name: string; wallUsPerRow: number; cpuUsPerRow: number }[] = [];
    const run = async (name: string, f: () => Promise<Cost>) => {
      if (ONLY && !ONLY.some((o) => name.startsWith(o))) return;
      const cost = await f();
      results.push({ name, wallUsPerRow: Math.round(cost.wall * 10) / 10, cpuUsPerRow: Math.round(cost.cpu * 10) / 10 });
      out(`| ${name} | ${cost.wall.toFixed(1)} | ${cost.cpu.toFixed(1)} | ${Math.round(1e6 / cost.wall)} |`);
    };
    const noNotExists = repo.INSERT_UNNEST.replace(/\s+WHERE NOT EXISTS \(SELECT 1 FROM traces x WHERE x\.id = t\.id\)/, '');
    out(`# ingest-db-profile (${new Date().toISOString()})`);
    out('');
    out(`${ROWS} rows (the bench:ingest spans), statements of ${BATCH}, one connection, empty tables each time, PostgreSQL ${(await c.query('SHOW server_version')).rows[0].server_version}, ${indexes.length} indexes on traces.`);
    out('µs per row: wall time of the client, CPU time of the backend.');
    out('');
    out('| variant | wall µs/row | backend CPU µs/row | rows/s (wall) |');
    out('|---|---|---|---|');
    await run('shipped: unnest, NOT EXISTS, ON CONFLICT, search-queue trigger', () => time(statement(repo.INSERT_UNNEST)));
    await run('parse only: SELECT count(*) over the unnest (no insert)', () => time(statement(`SELECT count(*) FROM (${repo.UNNEST_SELECT}) s`)));
    await run('without NOT EXISTS (ON CONFLICT on traces_id_uq only)', () => time(statement(noNotExists)));
    await run('without NOT EXISTS, search-queue trigger disabled', async () => {
      await c.query('ALTER TABLE traces DISABLE TRIGGER traces_search_insert');
      try {
        return await time(statement(noNotExists));
      } finally {
        await c.query('ALTER TABLE traces ENABLE TRIGGER traces_search_insert');
      }
    });
    await run('copy: COPY into a temp table (ON COMMIT DROP) + INSERT … SELECT … ON CONFLICT (copyIngestedTraces)', () => time(viaCopy(repo.CREATE_STAGE, repo.INSERT_FROM_STAGE)));
    await run('copy, the staging table kept by the session (ON COMMIT DELETE ROWS; not PgBouncer-safe, for scale)', async () => {
      await c.query(repo.CREATE_STAGE.replace('ON COMMIT DROP', 'ON COMMIT DELETE ROWS'));
      try {
        return await time(viaCopy('', repo.INSERT_FROM_STAGE));
      } finally {
        await c.query('DROP TABLE ingest_stage');
      }
    });
    await run('without NOT EXISTS, synchronous_commit off (for scale only)', () => time(statement(noNotExists), 'SET LOCAL synchronous_commit = off'));
    for (const ix of indexes) {
      if (/_id_(ts_)?uq$/.test(ix.indexname)) continue;
      await run(`without NOT EXISTS, without ${ix.indexname}`, async () => {
        await c.query(`DROP INDEX ${ix.indexname}`);
        try {
          return await time(statement(noNotExists));
        } finally {
          await restore();
        }
      });
    }
    await run('without NOT EXISTS, no index but the unique id', async () => {
      await dropAll((n) => /_id_(ts_)?uq$/.test(n));
      try {
        return await time(statement(noNotExists));
      } finally {
        await restore();
      }
    });
    await run('search indexer: indexSearchTail over the enqueued rows (per row moved)', async () => {
      await time(statement(noNotExists));
      const text = `WITH moved AS (DELETE FROM trace_search_pending WHERE ctid = ANY (ARRAY(SELECT ctid FROM trace_search_pending LIMIT 20000)) RETURNING id)
        INSERT INTO trace_search (id, v) SELECT t.id, trace_search_values(t.input, t.output, t.model, t.user_id, t.metadata) FROM traces t WHERE t.id IN (SELECT id FROM moved)
        ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v`;
      return measure(async () => {
        for (;;) {
          const r = await c.query(text);
          if (!r.rowCount) break;
        }
      });
    });
    await run('… its search expression alone: sum(length(trace_search_values(…))) over traces', async () => {
      await time(statement(noNotExists));
      return measure(async () => {
        await c.query('SELECT sum(length(trace_search_values(input, output, model, user_id, metadata))) FROM traces');
      });
    });
    await run('… the same move with the trigram index dropped, then CREATE INDEX over the rows', async () => {
      await time(statement(noNotExists));
      const def = (await c.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'trace_search_v_trgm_idx'`)).rows[0]?.indexdef;
      if (def) await c.query('DROP INDEX trace_search_v_trgm_idx');
      try {
        return await measure(async () => {
          await c.query(`WITH moved AS (DELETE FROM trace_search_pending RETURNING id)
            INSERT INTO trace_search (id, v) SELECT t.id, trace_search_values(t.input, t.output, t.model, t.user_id, t.metadata) FROM traces t WHERE t.id IN (SELECT id FROM moved)`);
          if (def) await c.query(def);
        });
      } finally {
        if (def) await c.query(def.replace(/^CREATE INDEX /, 'CREATE INDEX IF NOT EXISTS '));
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
