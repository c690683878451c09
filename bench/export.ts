/**
 * npm run bench:export — one million traces to each format, through the real gateway process.
 *
 * For each of JSONL, CSV, Parquet, JSONL+gzip and CSV+gzip: rows/s from the job's own startedAt →
 * finishedAt, file size, and the gateway's peak RSS while it exports (VmRSS sampled from /proc
 * every 100 ms, and the kernel's own high-water mark VmHWM after the export). Baseline measured
 * in the same run (server mode): PostgreSQL's own `COPY (SELECT …) TO STDOUT (FORMAT csv)` of the
 * same rows to nowhere (the fastest the database hands them out); the table gives each format's
 * throughput as a ratio of it. Then the effect of a running export on a dashboard: p95 of
 * `performance(last 24h)` + `traces(first: 50)` (4 concurrent clients, per-field cache off) with no
 * export, and while a JSONL export runs — only requests that finished while the export was running
 * count (ratio). Each file is deleted once measured. Writes bench/results/export[-embedded].{json,md}.
 *
 *   /work/tools/heavy npm run bench:export                                 # server mode, 1M traces
 *   BENCH_EXPORT_MODE=embedded /work/tools/heavy npm run bench:export      # embedded PGlite, 100k traces
 *   BENCH_PROFILE=1 BENCH_EXPORT_FORMATS=JSONL npm run bench:export        # + gateway CPU profile (top self time)
 *
 * Settings: BENCH_EXPORT_MODE (server | embedded), BENCH_EXPORT_TRACES (1000000 server, 100000
 * embedded), BENCH_EXPORT_DB (gw_i11_bench; server), BENCH_EXPORT_DATA_DIR
 * (.data/bench-export-embedded; embedded), BENCH_EXPORT_FORMATS (JSONL,CSV,PARQUET,JSONL+GZIP,CSV+GZIP),
 * BENCH_EXPORT_DASHBOARD_MS (15000: the run without export), BENCH_EXPORT_DASHBOARD=0 skips the
 * dashboard part, BENCH_PROFILE=1, and any EXPORT_* setting passed through to the gateway
 * (EXPORT_BATCH_ROWS, …), BENCH_EXPORT_RESULT (result file name), BENCH_GATEWAY_DIR (run another
 * checkout's gateway: a before/after baseline). The seeded database / data directory is kept between runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import pg from 'pg';
import { sql } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import { ensureSeededDatabase } from './support/seeded-database';
import { rssBytes } from './support/process-stats';
import { profileTable, summarizeProfileFile } from './support/cpu-profile-summary';
import { createApiKey } from '../src/auth/api-keys';
import { loadConfig } from '../src/config';
import { openDatabase, type DatabaseHandle } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrator';
import { refreshRollups } from '../src/db/rollup-refresh';
import { seedDatabase } from '../db/seed/loader';

const ROOT = path.resolve(__dirname, '..');
const MODE = process.env.BENCH_EXPORT_MODE === 'embedded' ? 'embedded' : 'server';
const TRACES = Number(process.env.BENCH_EXPORT_TRACES ?? (MODE === 'server' ? 1_000_000 : 100_000));
const DB = process.env.BENCH_EXPORT_DB ?? 'gw_i11_bench';
const DATA_DIR = path.resolve(ROOT, process.env.BENCH_EXPORT_DATA_DIR ?? '.data/bench-export-embedded');
const RESULTS = path.resolve(__dirname, 'results');
const DASHBOARD = process.env.BENCH_EXPORT_DASHBOARD !== '0';
const DASHBOARD_MS = Number(process.env.BENCH_EXPORT_DASHBOARD_MS ?? 15_000);
const EXPORT_DIR = path.resolve(ROOT, '.data', `bench-exports-${MODE}`);
const PROFILE = process.env.BENCH_PROFILE === '1';
const FORMATS = (process.env.BENCH_EXPORT_FORMATS ?? 'JSONL,CSV,PARQUET,JSONL+GZIP,CSV+GZIP')
  .split(',')
  .map((s) => s.trim().toUpperCase())
  .filter(Boolean)
  .map((s) => {
    const [format, gz] = s.split('+');
    if (!['JSONL', 'CSV', 'PARQUET'].includes(format!) || (gz && gz !== 'GZIP')) throw new Error(`BENCH_EXPORT_FORMATS: unknown ${s}`);
    return [format!, gz ? 'GZIP' : 'NONE'] as const;
  });
const RESULT_NAME = process.env.BENCH_EXPORT_RESULT ?? (MODE === 'server' ? 'export' : 'export-embedded');
/** Another checkout's gateway (a baseline of the code before a change); its node_modules may be a link to ours. */
const GATEWAY_DIR = path.resolve(process.env.BENCH_GATEWAY_DIR ?? ROOT);

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const mb = (bytes: number) => round(bytes / 1048576);

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Gateway {
  readonly child: ChildProcess;
  readonly url: string;
  readonly base: string;
  readonly profileDir?: string;
  stop(): Promise<void>;
}

/** `node [--cpu-prof] --import tsx src/main.ts` (the npm start path) in its own process. */
function startGateway(env: Record<string, string>): Promise<Gateway> {
  const profileDir = PROFILE ? fs.mkdtempSync(path.join(os.tmpdir(), 'gw-export-prof-')) : undefined;
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--max-semi-space-size=8', '--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: GATEWAY_DIR,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'production', ROLLUP_REFRESH_INTERVAL_MS: '0', DEMO_LIVE: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => (clearTimeout(timer), resolve()));
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`gateway did not start:\n${out}`))), 180_000);
    const onExit = (code: number | null) => (clearTimeout(timer), reject(new Error(`gateway exited ${code}:\n${out}`)));
    child.once('exit', onExit);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http[^"]+)\/graphql"[^\n]*gateway listening/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      // Keep draining its output (a full pipe would block the gateway); keep warnings/errors.
      child.stdout!.off('data', onData);
      child.stdout!.on('data', (c: Buffer) => {
        for (const line of c.toString().split('\n')) if (/"level":(4|5|6)\d/.test(line)) process.stderr.write(`gateway: ${line.slice(0, 400)}\n`);
      });
      resolve({ child, url: `${m[1]}/graphql`, base: m[1]!, profileDir, stop });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.length > 1e6) out = out.slice(-1e5);
    });
  });
}

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as any;
}

async function copyBaseline(url: string, orgId: string): Promise<{ seconds: number; bytes: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let bytes = 0;
    const started = performance.now();
    const stream = client.query(copyTo(`COPY (SELECT * FROM traces WHERE org_id = '${orgId.replace(/'/g, "''")}' ORDER BY ts, id) TO STDOUT (FORMAT csv, HEADER)`));
    await pipeline(stream, new Writable({ write: (c: Buffer, _e, cb) => ((bytes += c.length), cb()) }));
    return { seconds: (performance.now() - started) / 1000, bytes };
  } finally {
    await client.end();
  }
}

interface ExportResult {
  format: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  bytes: number;
  peakRssMb: number;
  hwmMb: number;
  wallSeconds: number;
}

async function runExport(gw: Gateway, key: string, format: string, compression: string): Promise<ExportResult> {
  const pid = gw.child.pid!;
  let peak = rssBytes(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, procStatusKb(pid, 'VmRSS'))), 100);
  const wallStart = performance.now();
  const r = await gql(gw.url, key, 'mutation($f: ExportFormat!, $c: ExportCompression) { exportTraces(format: $f, compression: $c) { id progress { rowsTotal } } }', { f: format, c: compression });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const id = r.data.exportTraces.id;
  let job: any;
  for (;;) {
    const res = await gql(gw.url, key, 'query($id: ID!) { exportJob(id: $id) { status rowCount bytes error startedAt finishedAt attempts } }', { id });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    job = res.data.exportJob;
    if (!['PENDING', 'RUNNING'].includes(job.status)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  clearInterval(sampler);
  peak = Math.max(peak, procStatusKb(pid, 'VmRSS'));
  const hwm = procStatusKb(pid, 'VmHWM');
  if (job.status !== 'SUCCEEDED') throw new Error(`export ${format} ended ${job.status}: ${job.error}`);
  if (job.attempts !== 1) process.stderr.write(`warning: export ${format} took ${job.attempts} attempts\n`);
  // The file has been measured (bytes); five 1M-row files would hold several GB of disk.
  for (const entry of fs.readdirSync(EXPORT_DIR)) fs.rmSync(path.join(EXPORT_DIR, entry), { recursive: true, force: true });
  const seconds = (new Date(job.finishedAt).getTime() - new Date(job.startedAt).getTime()) / 1000;
  return {
    format: compression === 'GZIP' ? `${format}+gzip` : format,
    rows: job.rowCount as number,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(job.rowCount / seconds),
    bytes: job.bytes as number,
    peakRssMb: mb(peak),
    hwmMb: mb(hwm),
    wallSeconds: round((performance.now() - wallStart) / 1000, 2),
  };
}

const DASHBOARD_QUERY = '{ performance(range: {last: "24h"}) { totals { requestCount latency { p95Ms } } } traces(first: 50) { nodes { id model totalCostUsd } } }';

/** Dashboard requests, `concurrency` clients back to back, until `done()`; latencies of requests that finished before it. */
async function dashboard(url: string, key: string, done: () => boolean, concurrency = 4): Promise<number[]> {
  const lat: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!done()) {
        const t = performance.now();
        const r = await gql(url, key, DASHBOARD_QUERY);
        if (r.errors) throw new Error(JSON.stringify(r.errors));
        if (!done()) lat.push(performance.now() - t);
      }
    }),
  );
  return lat;
}
const forMs = (ms: number) => {
  const until = Date.now() + ms;
  return () => Date.now() >= until;
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};

/** The embedded data directory, seeded once (multi-row INSERTs) and kept; rollups refreshed. */
async function ensureEmbeddedData(): Promise<void> {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const h = await openDatabase(loadConfig({ DATA_DIR, DATABASE_MODE: 'embedded' }), { holder: 'bench-export' });
  try {
    await migrateToLatest(h);
    const n = await countTraces(h);
    if (n < TRACES) {
      process.stderr.write(`seeding ${TRACES} traces over 7 days into ${DATA_DIR}…\n`);
      await h.db.deleteFrom('scores').execute();
      await h.db.deleteFrom('traces').execute();
      await h.db.deleteFrom('rollup_state').execute();
      const r = await seedDatabase(h, { traces: TRACES, days: 7, orgs: 1, seed: 42 });
      process.stderr.write(`seeded at ${Math.round(r.rowsPerSecond)} rows/s in ${r.seconds.toFixed(1)} s\n`);
    }
    await refreshRollups(h);
    await sql`ANALYZE`.execute(h.db);
  } finally {
    await h.close();
  }
}

const countTraces = async (h: DatabaseHandle, org?: string) => {
  let q = h.db.selectFrom('traces').select((eb) => eb.fn.countAll<string>().as('n'));
  if (org) q = q.where('org_id', '=', org);
  return Number((await q.executeTakeFirstOrThrow()).n);
};

async function main() {
  let url: string | undefined;
  if (MODE === 'server') url = await ensureSeededDatabase({ traces: TRACES, days: 7, dbName: DB, orgs: 1 });
  else await ensureEmbeddedData();
  const dbEnv: Record<string, string> = url ? { DATABASE_URL: url, DATABASE_MODE: 'postgres' } : { DATA_DIR, DATABASE_MODE: 'embedded' };

  const h = await openDatabase(loadConfig({ ...dbEnv, DB_POOL_MIN: '0' }), { holder: 'bench-export' });
  const org = (await h.db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
  const rows = await countTraces(h, org);
  const key = (await createApiKey(h.db, { orgId: org, name: 'bench-export', role: 'ADMIN' })).key;
  await h.db.deleteFrom('export_jobs').execute();
  await h.close();
  fs.rmSync(EXPORT_DIR, { recursive: true, force: true });
  fs.mkdirSync(EXPORT_DIR, { recursive: true });

  const passThrough = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('EXPORT_')) as [string, string][]);
  const gatewayEnv: Record<string, string> = {
    ...dbEnv,
    DEMO_DATA: 'false',
    EXPORT_MAX_ROWS: String(Math.max(rows + 1, 2_000_000)),
    EXPORT_CONCURRENCY: '1',
    CACHE_ENABLED: 'false',
    CACHE_TTLS: 'exportJob=0',
    RATE_LIMIT_ENABLED: 'false',
    ...passThrough,
    EXPORT_DIR,
  };
  const gw = await startGateway(gatewayEnv);
  let profile: string | undefined;
  try {
    const idleRss = mb(rssBytes(gw.child.pid!));
    const idleHwm = mb(procStatusKb(gw.child.pid!, 'VmHWM'));
    let baseline: { seconds: number; rowsPerSecond: number; bytes: number } | undefined;
    if (url) {
      const b = await copyBaseline(url, org);
      baseline = { seconds: round(b.seconds, 2), rowsPerSecond: Math.round(rows / b.seconds), bytes: b.bytes };
      process.stderr.write(`baseline COPY csv: ${rows} rows in ${baseline.seconds} s (${baseline.rowsPerSecond} rows/s)\n`);
    }
    process.stderr.write(`${MODE}: ${rows} traces, gateway idle RSS ${idleRss} MB (VmHWM since start ${idleHwm} MB)\n`);
    const results: (ExportResult & { vsCopy?: number })[] = [];
    for (const [format, compression] of FORMATS) {
      const r = await runExport(gw, key, format, compression);
      process.stderr.write(`${r.format}: ${r.rows} rows in ${r.seconds} s = ${r.rowsPerSecond} rows/s, ${mb(r.bytes)} MiB, peak RSS ${r.peakRssMb} MB (VmHWM ${r.hwmMb} MB)\n`);
      results.push({ ...r, ...(baseline ? { vsCopy: round(r.rowsPerSecond / baseline.rowsPerSecond, 2) } : {}) });
    }
    let dash: Record<string, number> | undefined;
    if (DASHBOARD) {
      // Dashboard p95 alone, then while a JSONL export runs (only requests finished before it did).
      await dashboard(gw.url, key, forMs(Math.min(3000, DASHBOARD_MS))); // warm-up
      const alone = await dashboard(gw.url, key, forMs(DASHBOARD_MS));
      let exported = false;
      const exporting = runExport(gw, key, 'JSONL', 'NONE').finally(() => (exported = true));
      const [during, loaded] = await Promise.all([dashboard(gw.url, key, () => exported), exporting]);
      dash = {
        requestsAlone: alone.length,
        requestsDuring: during.length,
        p50AloneMs: round(pct(alone, 0.5)),
        p95AloneMs: round(pct(alone, 0.95)),
        p50DuringMs: round(pct(during, 0.5)),
        p95DuringMs: round(pct(during, 0.95)),
        ratio: round(pct(during, 0.95) / pct(alone, 0.95), 2),
        exportRowsPerSecondUnderLoad: loaded.rowsPerSecond,
        exportSecondsUnderLoad: loaded.seconds,
        peakRssMbUnderLoad: loaded.peakRssMb,
      };
      process.stderr.write(
        `dashboard p95: ${dash.p95AloneMs} ms alone, ${dash.p95DuringMs} ms during a JSONL export (×${dash.ratio}); that export ${loaded.rowsPerSecond} rows/s, peak RSS ${loaded.peakRssMb} MB\n`,
      );
    }
    const peakOfRun = Math.max(...results.map((r) => r.peakRssMb), dash?.peakRssMbUnderLoad ?? 0);
    const report = {
      date: new Date().toISOString(),
      mode: MODE,
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memMb: Math.round(os.totalmem() / 1048576), node: process.version },
      rows,
      gateway: GATEWAY_DIR === ROOT ? 'this checkout' : GATEWAY_DIR,
      settings: { ...Object.fromEntries(Object.entries(gatewayEnv).filter(([k]) => k.startsWith('EXPORT_'))), columns: 'all (ADMIN key: content included)' },
      idleRssMb: idleRss,
      peakRssMb: peakOfRun,
      baseline: baseline ? { method: 'COPY (SELECT * … ORDER BY ts, id) TO STDOUT (FORMAT csv)', ...baseline } : null,
      results,
      dashboard: dash ?? null,
    };
    if (gw.profileDir) {
      await gw.stop();
      const files = fs.readdirSync(gw.profileDir).filter((f) => f.endsWith('.cpuprofile'));
      // The main thread's profile is the largest (tsx's loader thread adds a small one).
      const main = files.map((f) => path.join(gw.profileDir!, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
      if (main) {
        profile = profileTable(summarizeProfileFile(main, 20));
        fs.mkdirSync(RESULTS, { recursive: true });
        fs.copyFileSync(main, path.join(RESULTS, `${RESULT_NAME}.cpuprofile`));
        process.stderr.write(`gateway CPU profile (top self time):\n${profile}\n`);
      }
    }
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, `${RESULT_NAME}.json`), JSON.stringify({ ...report, profile: profile ?? null }, null, 2) + '\n');
    const md = [
      `# bench:export (${report.date}, ${rows} traces, ${MODE === 'server' ? 'PostgreSQL server mode' : 'embedded PGlite'}, EXPORT_CONCURRENCY=1, ${os.cpus().length} cores${GATEWAY_DIR === ROOT ? '' : `, gateway from ${GATEWAY_DIR}`})`,
      '',
      baseline ? `Baseline: PostgreSQL COPY to CSV of the same rows: ${baseline.rowsPerSecond} rows/s (${baseline.seconds} s, ${mb(baseline.bytes)} MiB).` : 'No COPY baseline in embedded mode.',
      `Gateway RSS at rest ${idleRss} MB; highest sampled while exporting ${peakOfRun} MB.`,
      '',
      '| format | rows | seconds | rows/s | × COPY | file MiB | peak RSS MB (sampled) | VmHWM MB |',
      '|---|---|---|---|---|---|---|---|',
      ...results.map((r) => `| ${r.format} | ${r.rows} | ${r.seconds} | ${r.rowsPerSecond} | ${r.vsCopy ?? '—'} | ${mb(r.bytes)} | ${r.peakRssMb} | ${r.hwmMb} |`),
      '',
      ...(dash
        ? [
            `Dashboard (performance 24h + traces first 50, 4 concurrent clients, per-field cache off): p95 ${dash.p95AloneMs} ms alone (${dash.requestsAlone} requests in ${DASHBOARD_MS / 1000} s), ` +
              `${dash.p95DuringMs} ms while a JSONL export runs (× ${dash.ratio}; ${dash.requestsDuring} requests in ${dash.exportSecondsUnderLoad} s); p50 ${dash.p50AloneMs} → ${dash.p50DuringMs} ms. ` +
              `That export ran at ${dash.exportRowsPerSecondUnderLoad} rows/s, peak RSS ${dash.peakRssMbUnderLoad} MB.`,
            '',
          ]
        : []),
      ...(profile ? ['Gateway CPU profile, whole run (top self time):', '', profile, ''] : []),
    ].join('\n');
    fs.writeFileSync(path.join(RESULTS, `${RESULT_NAME}.md`), md);
    process.stdout.write(md);
  } finally {
    await gw.stop();
    fs.rmSync(EXPORT_DIR, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
