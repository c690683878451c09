/**
 * npm run bench:export — one million traces to each format, through the real gateway process.
 *
 * For each of CSV, JSONL, Parquet (and JSONL+gzip): rows/s from the job's own startedAt →
 * finishedAt, file size, and the gateway's peak RSS sampled from /proc every 100 ms while it
 * exports. Baseline measured in the same run: PostgreSQL's own `COPY (SELECT …) TO STDOUT (FORMAT
 * csv)` of the same rows to nowhere (the fastest the database hands them out); the table gives
 * each format's throughput as a ratio of it. Then the effect of a running export on a dashboard:
 * p95 of `performance(last 24h)` + `traces(first: 50)` with no export, and while a JSONL export
 * runs (ratio). Writes bench/results/export.json and .md. Run under /work/tools/heavy.
 *
 * Settings: BENCH_EXPORT_TRACES (1000000), BENCH_EXPORT_DB (gw_bench_export_1m), BENCH_EXPORT_DASHBOARD_MS (15000).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { ensureSeededDatabase } from './support/seeded-database';
import { rssBytes } from './support/process-stats';
import { startGatewayProcess, type GatewayProcess } from '../test/support/gateway-process';
import { createApiKey } from '../src/auth/api-keys';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';

const TRACES = Number(process.env.BENCH_EXPORT_TRACES ?? 1_000_000);
const DB = process.env.BENCH_EXPORT_DB ?? 'gw_bench_export_1m';
const RESULTS = path.resolve(__dirname, 'results');
const DASHBOARD_MS = Number(process.env.BENCH_EXPORT_DASHBOARD_MS ?? 15_000);
const EXPORT_DIR = path.resolve(__dirname, '..', '.data', 'bench-exports');

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

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

async function runExport(gw: GatewayProcess, key: string, format: string, compression: string) {
  const pid = gw.child.pid!;
  let peak = rssBytes(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 100);
  const wallStart = performance.now();
  const r = await gql(gw.url, key, 'mutation($f: ExportFormat!, $c: ExportCompression) { exportTraces(format: $f, compression: $c) { id progress { rowsTotal } } }', { f: format, c: compression });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const id = r.data.exportTraces.id;
  let job: any;
  for (;;) {
    job = (await gql(gw.url, key, 'query($id: ID!) { exportJob(id: $id) { status rowCount bytes error startedAt finishedAt attempts } }', { id })).data.exportJob;
    if (!['PENDING', 'RUNNING'].includes(job.status)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  clearInterval(sampler);
  if (job.status !== 'SUCCEEDED') throw new Error(`export ${format} ended ${job.status}: ${job.error}`);
  const seconds = (new Date(job.finishedAt).getTime() - new Date(job.startedAt).getTime()) / 1000;
  return { format: compression === 'GZIP' ? `${format}+gzip` : format, rows: job.rowCount as number, seconds: round(seconds, 2), rowsPerSecond: Math.round(job.rowCount / seconds), bytes: job.bytes as number, peakRssMb: round(peak / 1048576), wallSeconds: round((performance.now() - wallStart) / 1000, 2) };
}

/** Dashboard requests one after another for `ms`; their latencies. */
async function dashboard(url: string, key: string, ms: number, concurrency = 4): Promise<number[]> {
  const lat: number[] = [];
  const until = Date.now() + ms;
  const q = '{ performance(range: {last: "24h"}) { totals { requestCount latency { p95Ms } } } traces(first: 50) { nodes { id model totalCostUsd } } }';
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const t = performance.now();
        const r = await gql(url, key, q);
        if (r.errors) throw new Error(JSON.stringify(r.errors));
        lat.push(performance.now() - t);
      }
    }),
  );
  return lat;
}

const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] ?? NaN;
};

async function main() {
  const url = await ensureSeededDatabase({ traces: TRACES, days: 7, dbName: DB, orgs: 1 });
  const h = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const org = (await h.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow()).id;
  const rows = Number((await h.db.selectFrom('traces').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', org).executeTakeFirstOrThrow()).n);
  const key = (await createApiKey(h.db, { orgId: org, name: 'bench-export', role: 'ADMIN' })).key;
  await h.db.deleteFrom('export_jobs').execute();
  await h.close();
  fs.rmSync(EXPORT_DIR, { recursive: true, force: true });

  const gw = await startGatewayProcess(
    {
      DATABASE_URL: url,
      DATABASE_MODE: 'postgres',
      DEMO_DATA: 'false',
      LOG_LEVEL: 'info',
      EXPORT_DIR,
      EXPORT_MAX_ROWS: String(Math.max(rows + 1, 2_000_000)),
      EXPORT_CONCURRENCY: '1',
      CACHE_ENABLED: 'false',
      CACHE_TTLS: 'exportJob=0',
      RATE_LIMIT_ENABLED: 'false',
    },
    { ready: /"url":"(http:\/\/[^"]+\/graphql)"[^\n]*gateway listening/, timeoutMs: 120_000 },
  );
  try {
    const idleRss = round(rssBytes(gw.child.pid!) / 1048576);
    const baseline = await copyBaseline(url, org);
    const baselineRate = Math.round(rows / baseline.seconds);
    process.stderr.write(`baseline COPY csv: ${rows} rows in ${baseline.seconds.toFixed(2)} s (${baselineRate} rows/s)\n`);
    const results = [];
    for (const [format, compression] of [['JSONL', 'NONE'], ['CSV', 'NONE'], ['PARQUET', 'NONE'], ['JSONL', 'GZIP']] as const) {
      const r = await runExport(gw, key, format, compression);
      process.stderr.write(`${r.format}: ${r.rows} rows in ${r.seconds} s = ${r.rowsPerSecond} rows/s, ${(r.bytes / 1048576).toFixed(1)} MiB, peak RSS ${r.peakRssMb} MB\n`);
      results.push({ ...r, vsCopy: round(r.rowsPerSecond / baselineRate, 2) });
    }
    // Dashboard p95 alone, then while an export runs (same duration).
    await dashboard(gw.url, key, Math.min(3000, DASHBOARD_MS)); // warm-up
    const alone = await dashboard(gw.url, key, DASHBOARD_MS);
    const exporting = runExport(gw, key, 'JSONL', 'NONE');
    const during = await dashboard(gw.url, key, DASHBOARD_MS);
    await exporting;
    const dash = { requestsAlone: alone.length, requestsDuring: during.length, p95AloneMs: round(p95(alone)), p95DuringMs: round(p95(during)), ratio: round(p95(during) / p95(alone), 2) };
    process.stderr.write(`dashboard p95: ${dash.p95AloneMs} ms alone, ${dash.p95DuringMs} ms during an export (×${dash.ratio})\n`);
    const report = { date: new Date().toISOString(), rows, idleRssMb: idleRss, baseline: { method: 'COPY (SELECT * … ORDER BY ts, id) TO STDOUT (FORMAT csv)', seconds: round(baseline.seconds, 2), rowsPerSecond: baselineRate, bytes: baseline.bytes }, results, dashboard: dash };
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, 'export.json'), JSON.stringify(report, null, 2) + '\n');
    const md = [
      `# bench:export (${report.date}, ${rows} traces, PostgreSQL server mode, EXPORT_CONCURRENCY=1)`,
      '',
      `Baseline: PostgreSQL COPY to CSV of the same rows: ${baselineRate} rows/s (${round(baseline.seconds, 2)} s). Idle gateway RSS ${idleRss} MB.`,
      '',
      '| format | rows | seconds | rows/s | × COPY | file MiB | peak RSS MB |',
      '|---|---|---|---|---|---|---|',
      ...results.map((r) => `| ${r.format} | ${r.rows} | ${r.seconds} | ${r.rowsPerSecond} | ${r.vsCopy} | ${round(r.bytes / 1048576)} | ${r.peakRssMb} |`),
      '',
      `Dashboard (performance 24h + traces first 50, 4 concurrent): p95 ${dash.p95AloneMs} ms alone, ${dash.p95DuringMs} ms while a JSONL export runs (× ${dash.ratio}; ${dash.requestsAlone} / ${dash.requestsDuring} requests).`,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(RESULTS, 'export.md'), md);
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
