import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { createApiKey } from '../../src/auth/api-keys';
import { seedDatabase } from '../../db/seed/loader';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { gql } from '../support/gateway';
import { waitForExport } from '../support/export-files';

/**
 * Real gateway processes on one database: SIGKILL in the middle of an export, two instances
 * sharing the queue. The stall timeout is short here so that a killed worker's job is
 * restarted within seconds; batches are small so that an export takes long enough to be killed.
 */
const EXPORT_ENV = {
  EXPORT_BATCH_ROWS: '100',
  EXPORT_PARQUET_BATCH_ROWS: '100',
  EXPORT_COPY_BATCH_ROWS: '100',
  EXPORT_BATCH_TIMEOUT_MS: '2000',
  EXPORT_STALL_TIMEOUT_MS: '3000',
  EXPORT_RETRY_DELAY_S: '1',
  EXPORT_MAX_CONCURRENT_PER_ORG: '20',
  CACHE_TTLS: 'exportJob=0',
  RATE_LIMIT_FIELD_LIMITS: 'exportTraces=1000',
  CACHE_WARM_ON_START: 'false',
};

const START = 'mutation($f: TraceFilter, $format: ExportFormat!) { exportTraces(filter: $f, format: $format) { id progress { rowsTotal } } }';

function filesIn(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

/** Waits until the export has written at least `rows` rows while RUNNING (the moment to kill). */
async function waitUntilMidway(url: string, key: string, id: string, rows: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await gql(url, key, 'query($id: ID!) { exportJob(id: $id) { status progress { rowsWritten rowsTotal } } }', { id });
    const j = r.body.data?.exportJob;
    if (j?.status === 'RUNNING' && j.progress.rowsWritten >= rows) return j;
    if (j && !['PENDING', 'RUNNING'].includes(j.status)) throw new Error(`export finished before it could be killed: ${JSON.stringify(j)}`);
    if (Date.now() > deadline) throw new Error('export never got going');
    await new Promise((res) => setTimeout(res, 20));
  }
}

const kill9 = (gw: GatewayProcess) =>
  new Promise<void>((resolve) => {
    gw.child.once('exit', () => resolve());
    gw.child.kill('SIGKILL');
  });

async function download(base: string, location: string, key: string): Promise<string> {
  const res = await fetch(new URL(location, base), { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('export reliability (PostgreSQL server, gateway processes)', () => {
  let tdb: TestDatabase;
  let key: string;
  let key2: string;
  let orgs: string[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-i11-rel-'));
  const procs: GatewayProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    tdb = await createTestDatabase('i11_rel');
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' });
    const handle = await openDatabase(config);
    try {
      await migrateToLatest(handle);
      await seedDatabase(handle, { traces: 60_000, days: 5, orgs: 2, seed: 11 });
      orgs = (await handle.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((o) => o.id);
      key = (await createApiKey(handle.db, { orgId: orgs[0]!, name: 'rel', role: 'ADMIN' })).key;
      key2 = (await createApiKey(handle.db, { orgId: orgs[1]!, name: 'rel', role: 'ADMIN' })).key;
    } finally {
      await handle.close();
    }
    env = { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DEMO_DATA: 'false', EXPORT_DIR: dir, ...EXPORT_ENV };
  }, 300_000);

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await tdb?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sqlIds = async (orgId: string) => {
    const handle = await openDatabase(loadConfig({ NODE_ENV: 'test', DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    try {
      return (await sql<{ id: string }>`SELECT id::text AS id FROM traces WHERE org_id = ${orgId} ORDER BY ts, id`.execute(handle.db)).rows.map((r) => r.id);
    } finally {
      await handle.close();
    }
  };

  it('a gateway killed mid-export: the next one restarts the job, the file has exactly the rows, nothing partial was downloadable', async () => {
    const a = await startGatewayProcess(env);
    procs.push(a);
    const started = await gql(a.url, key, START, { format: 'JSONL' });
    expect(started.body.errors).toBeUndefined();
    const id = started.body.data.exportTraces.id;
    const mid = await waitUntilMidway(a.url, key, id, 500);
    expect(mid.progress.rowsWritten).toBeLessThan(mid.progress.rowsTotal);
    // While it runs, the download is refused: there is no file yet, only a temporary one.
    const early = await fetch(new URL(`/exports/${id}/download`, a.url), { headers: { authorization: `Bearer ${key}` } });
    expect(early.status).toBe(409);
    await kill9(a);
    const leftovers = filesIn(dir);
    expect(leftovers.length).toBeGreaterThan(0);
    expect(leftovers.every((f) => path.basename(f).startsWith('.') && f.endsWith('.partial'))).toBe(true);

    const b = await startGatewayProcess(env);
    procs.push(b);
    const job = await waitForExport(b.url, key, id, undefined, 90_000);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const lines = (await download(b.url, job.location, key)).split('\n').filter(Boolean).map((l) => JSON.parse(l).id);
    const want = await sqlIds(orgs[0]!);
    expect(lines.length).toBe(want.length);
    expect(lines).toEqual(want);
    expect(job.rowCount).toBe(want.length);
    // The killed attempt's temporary file was cleaned up by the new attempt.
    expect(filesIn(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(await b.stop()).toBe(0);
  });

  it('two gateways on one database: every job runs exactly once', async () => {
    const g1 = await startGatewayProcess(env);
    const g2 = await startGatewayProcess(env);
    procs.push(g1, g2);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const [url, k] = i % 2 ? [g2.url, key2] : [g1.url, key];
      const r = await gql(url, k, START, { format: i % 3 === 0 ? 'CSV' : 'JSONL', f: { last: `${2 + i}d` } });
      expect(r.body.errors).toBeUndefined();
      ids.push(r.body.data.exportTraces.id);
    }
    for (const [i, id] of ids.entries()) {
      const job = await waitForExport(i % 2 ? g2.url : g1.url, i % 2 ? key2 : key, id, undefined, 120_000);
      expect({ id, status: job.status, attempts: job.attempts }).toEqual({ id, status: 'SUCCEEDED', attempts: 1 });
    }
    // Each export succeeded in exactly one process's log. The job's row says SUCCEEDED a moment
    // before its process has written that line (and the pipe has carried it): wait a little for it.
    const succeeded = (out: string) => [...out.matchAll(/"exportId":"([0-9a-f-]{36})"[^\n]*"msg":"export succeeded"/g)].map((m) => m[1]);
    for (let waited = 0; waited < 10_000 && succeeded(g1.output()).length + succeeded(g2.output()).length < ids.length; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const s1 = succeeded(g1.output());
    const s2 = succeeded(g2.output());
    expect([...s1, ...s2].sort()).toEqual([...ids].sort());
    expect(s1.filter((x) => s2.includes(x))).toEqual([]);
    process.stdout.write(`two gateways: ${s1.length} exports ran on the first, ${s2.length} on the second\n`);
    expect(await g1.stop()).toBe(0);
    expect(await g2.stop()).toBe(0);
  });
});

describe('export reliability (embedded, npm start path)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-i11-emb-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const start = () =>
    startGatewayProcess(
      { DATA_DIR: dataDir, DEMO_TRACES: '20000', DEMO_DAYS: '3', LOG_LEVEL: 'info', ...EXPORT_ENV },
      { ready: /running at (http:\/\/\S+\/graphql)[\s\S]*BILLING/, timeoutMs: 180_000 },
    );

  it('killed mid-export, restarted on the same data directory: the export completes with exactly its rows', async () => {
    const a = await start();
    const adminKey = /ADMIN\s+\S+\s+(obs_admin_\S+)/.exec(a.output())?.[1] as string;
    const orgId = /ADMIN\s+(\S+)\s+obs_admin_/.exec(a.output())?.[1] as string;
    expect(adminKey).toBeTruthy();
    try {
      const started = await gql(a.url, adminKey, START, { format: 'CSV' });
      expect(started.body.errors).toBeUndefined();
      const id = started.body.data.exportTraces.id;
      await waitUntilMidway(a.url, adminKey, id, 300);
      await kill9(a);
      const b = await start();
      process.stdout.write(`embedded: restarted after SIGKILL\n`);
      try {
        const job = await waitForExport(b.url, adminKey, id, undefined, 120_000);
        expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
        const text = await download(b.url, job.location, adminKey);
        const rows = text.split('\r\n').filter(Boolean).slice(1).map((l) => l.split(',')[1]!.replace(/"/g, ''));
        expect(await b.stop()).toBe(0);
        // Compared with SQL on the same data directory, once the gateway has let go of it.
        const handle = await openDatabase(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }), { holder: 'export-reliability test' });
        try {
          const w = await sql<{ from: Date; to: Date }>`SELECT window_from AS from, window_to AS to FROM export_jobs WHERE id = ${id}`.execute(handle.db);
          const inWindow = (
            await sql<{ id: string }>`SELECT id::text AS id FROM traces WHERE org_id = ${orgId}
              AND ts >= ${w.rows[0]!.from} AND ts < ${w.rows[0]!.to} ORDER BY ts, id`.execute(handle.db)
          ).rows.map((r) => r.id);
          expect(rows.length).toBe(inWindow.length);
          expect(rows).toEqual(inWindow);
        } finally {
          await handle.close();
        }
      } finally {
        if (b.child.exitCode === null) b.child.kill('SIGKILL');
      }
    } finally {
      if (a.child.exitCode === null) a.child.kill('SIGKILL');
    }
  }, 400_000);
});
