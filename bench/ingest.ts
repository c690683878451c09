/**
 * `npm run bench:ingest`: OTLP ingestion in server mode (plain PostgreSQL, no Redis), the
 * gateway in its own process (`node --import tsx src/main.ts`), driven from this process with
 * pre-encoded OTLP/protobuf batches of BENCH_INGEST_BATCH (512) GenAI spans — unique ids, the
 * attributes a GenAI instrumentation sets, ~300 characters of content each — over
 * BENCH_INGEST_CONNECTIONS (8) keep-alive connections for BENCH_INGEST_DURATION_S (20 s).
 *
 * Measured in the same run:
 *   baseline A  dashboard p95 with no ingestion (one client asking `performance(last: "1h",
 *               groupBy: MODEL)` and `costs(last: "1h")` back to back, field cache off);
 *   baseline B  the database's own ceiling: the same rows written straight with the gateway's
 *               write of plain PostgreSQL (copyIngestedTraces, 2 connections, 4096 rows a batch),
 *               no HTTP, decoding or mapping;
 *   ingest      spans/s accepted through POST /v1/traces, 429s, peak RSS of the gateway, the
 *               dashboard p95 while ingesting, and that every accepted span is in `traces` once.
 * Reported: spans/s, ratio to baseline B, dashboard p95 and its ratio to baseline A, peak RSS.
 * Results: bench/results/ingest.json and ingest.md. BENCH_PROFILE=1 runs the gateway under
 * --cpu-prof and prints its top self-time functions.
 *
 *   /work/tools/heavy npm run bench:ingest        # on the shared machine: under the lock
 *   BENCH_INGEST_DURATION_S=10 BENCH_INGEST_CONNECTIONS=4 npm run bench:ingest
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { sql } from 'kysely';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrator';
import { createApiKey } from '../src/auth/api-keys';
import { copyIngestedTraces, type IngestRow } from '../src/ingest/ingest.repository';
import { mapSpan } from '../src/ingest/genai-mapping';
import { decodeProtobufRequest } from '../src/ingest/otlp-decode';
import { cpuMicros, startCpuMeter, startSampler } from './support/process-stats';
import { profileTable, summarizeProfileFile } from './support/cpu-profile-summary';
import { MODELS } from '../db/seed/catalog';
import { buildBatch, loadRequestType } from './support/ingest-spans';
import { stopChild } from './support/gateway-process';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = process.env.BENCH_INGEST_DB ?? `gw_i15_bench_ingest_${process.pid}`;
const BATCH = Number(process.env.BENCH_INGEST_BATCH ?? 512);
const CONNECTIONS = Number(process.env.BENCH_INGEST_CONNECTIONS ?? 8);
const DURATION_S = Number(process.env.BENCH_INGEST_DURATION_S ?? 20);
const BASELINE_S = Number(process.env.BENCH_INGEST_BASELINE_S ?? 10);
const BASELINE_ROWS = Number(process.env.BENCH_INGEST_BASELINE_ROWS ?? 30_000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const TARGET = 20_000;
/**
 * This database's processes and what each is doing, by the tag the gateway's statements carry
 * (`/* tag *\/`) of the statement it runs or, idle, ran last (so the CPU of a statement that ended
 * between two samples still goes to it), or the backend's type: writers (the COPY write path),
 * the search indexer, rollup maintenance, autovacuum, the rest (the dashboard client's reads).
 */
const PG_ROLE_SQL = `SELECT pid, CASE
    WHEN backend_type <> 'client backend' THEN backend_type
    WHEN query ~ 'copyIngestedTraces|ingest_stage|insertIngestedTraces' THEN 'writer'
    WHEN query ~ 'indexSearchTail' THEN 'search indexer'
    WHEN query ~ '^(DELETE FROM|INSERT INTO) "[a-z_]+_(1min|1hour|1day|1week)"' THEN 'rollup maintenance'
    ELSE 'other client statements' END AS kind
  FROM pg_stat_activity WHERE datname = $1`;
const ORG = 'org_bench';
const PROJECTS = ['bench-web', 'bench-api', 'bench-batch'];

function startGateway(env: Record<string, string>): Promise<{ child: ChildProcess; base: string; profileDir?: string }> {
  const profileDir = PROFILE ? fs.mkdtempSync(path.join(os.tmpdir(), 'gw-ingest-prof-')) : undefined;
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http[^"]+)\/graphql"/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, base: m[1]!, profileDir });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}:\n${out}`)));
  });
}

const percentile = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const DASHBOARD = JSON.stringify({
  query: '{ performance(range: { last: "1h" }, groupBy: [MODEL]) { totals { requestCount latency { p95Ms } } groups { key { model } stats { errorRate } } } costs(range: { last: "1h" }) { totals { totalUsd requestCount } } }',
});

/** One client asking the dashboard questions back to back until `stop()`. */
function dashboardLoop(url: string, key: string) {
  const latencies: number[] = [];
  let errors = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const t = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: DASHBOARD });
      const body = (await res.json()) as { errors?: unknown[] };
      if (!res.ok || body.errors) errors++;
      latencies.push(performance.now() - t);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { n: latencies.length, errors, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
    },
  };
}

async function main() {
  fs.mkdirSync(RESULTS, { recursive: true });
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${DB_NAME}`;
  const dbUrl = u.toString();
  const handle = await openDatabase(loadConfig({ DATABASE_URL: dbUrl, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', DB_POOL_MAX: '4', LOG_LEVEL: 'silent' }));
  let gateway: ChildProcess | undefined;
  try {
    await migrateToLatest(handle);
    const db = handle.db;
    await db.insertInto('orgs').values({ id: ORG, name: 'Bench' }).execute();
    await db.insertInto('projects').values(PROJECTS.map((id) => ({ id, org_id: ORG, name: id }))).execute();
    await db
      .insertInto('model_prices')
      .values(MODELS.map((m) => ({ provider: m.provider, model: m.model, prompt_usd_per_1k: m.promptPer1k, completion_usd_per_1k: m.completionPer1k, cached_usd_per_1k: m.cachedPer1k, effective_from: '1970-01-01' })))
      .execute();
    const ingestKey = (await createApiKey(db, { orgId: ORG, name: 'bench-ingest', role: 'INGEST' })).key;
    const adminKey = (await createApiKey(db, { orgId: ORG, name: 'bench-admin', role: 'ADMIN' })).key;

    const type = loadRequestType();
    // Enough distinct batches for the run at twice the target rate, built before anything is timed.
    const needed = Math.ceil((TARGET * 2 * DURATION_S) / BATCH);
    process.stderr.write(`building ${needed} batches of ${BATCH} spans…\n`);
    const batches = Array.from({ length: needed }, (_, i) => buildBatch(type, BATCH, PROJECTS[i % PROJECTS.length]!));
    const bytes = batches.reduce((a, b) => a + b.length, 0);

    // Baseline B: the same rows written straight with the gateway's statement, with every index
    // of `traces`, then without the trigram search index, then with only the unique id
    // index: where the database's time goes. Indexes are restored before the gateway starts.
    const ctx = { orgId: ORG, resource: {}, scopeName: 'bench', serviceName: 'bench-app' };
    const opts = { nonLlmSpans: 'drop' as const, maxContentChars: 32_768, maxAgeMs: 170 * 60_000, maxFutureMs: 600_000, now: Date.now() };
    const baseRows: IngestRow[] = [];
    for (const b of batches.slice(0, Math.ceil(BASELINE_ROWS / BATCH))) {
      for (const rs of decodeProtobufRequest(b)) for (const s of rs.scopes[0]!.spans) {
        const r = mapSpan(s, ctx, () => null, opts);
        if (r.kind === 'row') baseRows.push({ ...r.row, org_id: 'org_baseline', project_id: 'baseline' });
      }
    }
    const directInsert = async () => {
      const rows = baseRows.map((r) => ({ ...r, id: randomUUIDv4() }));
      const chunks: IngestRow[][] = [];
      for (let i = 0; i < rows.length; i += 4096) chunks.push(rows.slice(i, i + 4096));
      let next = 0;
      const t = performance.now();
      await Promise.all(
        [0, 1].map(async () => {
          while (next < chunks.length) await copyIngestedTraces(handle.pool, chunks[next++]!);
        }),
      );
      const rate = rows.length / ((performance.now() - t) / 1000);
      await sql`DELETE FROM traces WHERE org_id = 'org_baseline'`.execute(db);
      await sql`VACUUM ANALYZE traces`.execute(db);
      return Math.round(rate);
    };
    const indexDefs = (await sql<{ indexname: string; indexdef: string }>`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'traces'`.execute(db)).rows;
    process.stderr.write(`baseline B: ${baseRows.length} rows straight into traces (${indexDefs.length} indexes)…\n`);
    const directRate = await directInsert();
    // Plain PostgreSQL has kept the trigram index off `traces` since 20261215010000_deferred_search
    // (the indexer fills trace_search): the "without" measures then repeat the same conditions.
    const inlineTrigram = indexDefs.some((ix) => ix.indexname === 'traces_search_values_trgm_idx');
    await sql`DROP INDEX IF EXISTS traces_search_values_trgm_idx`.execute(db);
    const directNoTrgm = await directInsert();
    for (const ix of indexDefs) if (!/_id_(ts_)?uq$/.test(ix.indexname) && ix.indexname !== 'traces_search_values_trgm_idx') await sql.raw(`DROP INDEX ${ix.indexname}`).execute(db);
    const directUniqueOnly = await directInsert();
    for (const ix of indexDefs) if (!/_id_(ts_)?uq$/.test(ix.indexname)) await sql.raw(ix.indexdef).execute(db);

    const gw = await startGateway({
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl,
      DATABASE_MODE: 'postgres',
      PORT: process.env.BENCH_INGEST_PORT ?? '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ACCESS_LOG_LEVEL: 'silent',
      CACHE_ENABLED: 'false',
      RATE_LIMIT_ADMIN_PER_MINUTE: '100000000',
      RATE_LIMIT_ADMIN_BURST: '100000000',
      ROLLUP_REFRESH_INTERVAL_MS: '60000',
      OTEL_SDK_DISABLED: 'true',
      OTLP_WRITERS: process.env.OTLP_WRITERS ?? '2',
      OTLP_BATCH_MAX_SPANS: process.env.OTLP_BATCH_MAX_SPANS ?? '4096',
    });
    gateway = gw.child;
    const sampler = startSampler(gw.child.pid!, [5432]);
    const graphqlUrl = `${gw.base}/graphql`;

    // Warm-up: a few batches and dashboard questions (JIT, plans, pools).
    for (let i = 0; i < 4; i++) await fetch(`${gw.base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${ingestKey}` }, body: batches[batches.length - 1 - i] });
    const warm = dashboardLoop(graphqlUrl, adminKey);
    await new Promise((r) => setTimeout(r, 2000));
    await warm.stop();

    process.stderr.write(`baseline A: dashboard alone for ${BASELINE_S} s…\n`);
    const alone = dashboardLoop(graphqlUrl, adminKey);
    await new Promise((r) => setTimeout(r, BASELINE_S * 1000));
    const dashAlone = await alone.stop();

    process.stderr.write(`ingesting for ${DURATION_S} s over ${CONNECTIONS} connections…\n`);
    let sentBatch = 0;
    /** CONNECTIONS exporters sending distinct batches back to back for `seconds`. */
    const drive = async (seconds: number) => {
      const statuses: Record<number, number> = {};
      const latencies: number[] = [];
      let accepted = 0;
      const t0 = performance.now();
      const deadline = t0 + seconds * 1000;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < deadline && sentBatch < batches.length - 4) {
            const body = batches[sentBatch++]!;
            const t = performance.now();
            const res = await fetch(`${gw.base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${ingestKey}` }, body });
            await res.arrayBuffer();
            latencies.push(performance.now() - t);
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            if (res.status === 200) accepted += BATCH;
            else if (res.status === 429) {
              // As an exporter would: wait as told, then the next batch (this one counts as refused).
              await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 100));
            }
          }
        }),
      );
      return { statuses, latencies, accepted, t0, elapsed: (performance.now() - t0) / 1000 };
    };
    const before = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces`.execute(db)).rows[0]!.n);
    const during = dashboardLoop(graphqlUrl, adminKey);
    const pgMeter = startCpuMeter(
      async () => (await admin.query<{ pid: number; kind: string }>(PG_ROLE_SQL, [DB_NAME])).rows,
      100,
    );
    await pgMeter.ready;
    const gwCpuStart = cpuMicros(gw.child.pid!);
    const machineStart = machineCpu();
    const cpuStart = process.cpuUsage();
    const { statuses, latencies, accepted, t0 } = await drive(DURATION_S);
    const elapsed = (performance.now() - t0) / 1000;
    const clientCpu = process.cpuUsage(cpuStart);
    const gatewayCpuUs = cpuMicros(gw.child.pid!) - gwCpuStart;
    const pgCpuUs = await pgMeter.stop();
    const machine = machineCpu(machineStart);
    const dashIngest = await during.stop();
    const peak = sampler.stop();
    const after = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces`.execute(db)).rows[0]!.n);
    // Plain PostgreSQL indexes search off the write path: how far the indexer lags at the end, and how long it takes to catch up.
    const pendingOf = async () =>
      (await sql<{ n: string | null }>`SELECT CASE WHEN to_regclass('trace_search_pending') IS NULL THEN NULL ELSE (SELECT count(*) FROM trace_search_pending) END AS n`.execute(db)).rows[0]!.n;
    const pendingAtEnd = await pendingOf();
    const drainStart = performance.now();
    while (pendingAtEnd !== null && Number(await pendingOf()) > 0 && performance.now() - drainStart < 120_000) await new Promise((r) => setTimeout(r, 250));
    const drainMs = Math.round(performance.now() - drainStart);
    process.stderr.write(`search index: ${pendingAtEnd ?? 'n/a'} rows pending at the end, drained in ${drainMs} ms\n`);
    const spansPerSecond = accepted / elapsed;
    const peakRss = peak.rss;

    // Same gateway, same exporters, no dashboard client, and the trigram search index dropped where
    // it is still maintained inline (a database from before the deferred search).
    let withoutTrigram: { spansPerSecond: number; statuses: Record<number, number> } | undefined;
    if (process.env.BENCH_INGEST_NO_TRGM_PHASE !== '0') {
      await sql`DROP INDEX IF EXISTS traces_search_values_trgm_idx`.execute(db);
      process.stderr.write(`ingesting for ${DURATION_S} s without the trigram index…\n`);
      const b2 = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces`.execute(db)).rows[0]!.n);
      const p2 = await drive(DURATION_S);
      const a2 = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces`.execute(db)).rows[0]!.n);
      if (a2 - b2 !== p2.accepted) throw new Error(`phase 2: ${p2.accepted} accepted but ${a2 - b2} stored`);
      withoutTrigram = { spansPerSecond: Math.round(p2.accepted / p2.elapsed), statuses: p2.statuses };
    }

    await stopChild(gw.child, 30_000);
    gateway = undefined;
    let profile: string | undefined;
    if (gw.profileDir) {
      const file = fs.readdirSync(gw.profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) profile = profileTable(summarizeProfileFile(path.join(gw.profileDir, file), 15));
    }

    const result = {
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      settings: { batch: BATCH, connections: CONNECTIONS, durationS: DURATION_S, writers: Number(process.env.OTLP_WRITERS ?? 2), batchMaxSpans: Number(process.env.OTLP_BATCH_MAX_SPANS ?? 4096), payloadBytesPerBatch: Math.round(bytes / batches.length) },
      ingest: {
        spansPerSecond: Math.round(spansPerSecond),
        target: TARGET,
        meetsTarget: spansPerSecond >= TARGET,
        statuses,
        requestP50Ms: Math.round(percentile(latencies, 50)),
        requestP95Ms: Math.round(percentile(latencies, 95)),
        rowsWritten: after - before,
        acceptedSpans: accepted,
        everyAcceptedSpanStoredOnce: after - before === accepted,
        peakRssMiB: Math.round(peakRss / 1048576),
        benchClientCpuS: Math.round((clientCpu.user + clientCpu.system) / 1e4) / 100,
      },
      // CPU microseconds per accepted span, by process, over the ingest window (the dashboard client's requests included).
      cpuPerSpanUs: {
        gateway: Math.round(gatewayCpuUs / Math.max(1, accepted)),
        postgres: Math.round(pgCpuUs / Math.max(1, accepted)),
        postgresByRole: Object.fromEntries(Object.entries(pgMeter.byKind()).sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, Math.round(us / Math.max(1, accepted))])),
        benchClient: Math.round((clientCpu.user + clientCpu.system) / Math.max(1, accepted)),
        machineBusyShare: machine.busyShare,
      },
      ingestWithoutTrigramIndex: withoutTrigram,
      baselineDirectInsert: { rows: baseRows.length, rowsPerSecond: directRate, ratio: Math.round((spansPerSecond / directRate) * 100) / 100, withoutTrigramIndex: directNoTrgm, uniqueIndexOnly: directUniqueOnly },
      dashboard: {
        alone: dashAlone,
        whileIngesting: dashIngest,
        p95Ratio: Math.round((dashIngest.p95 / dashAlone.p95) * 100) / 100,
      },
    };
    fs.writeFileSync(path.join(RESULTS, 'ingest.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# bench:ingest (${result.when})`,
      '',
      `Server mode (plain PostgreSQL 15, no Redis, field cache off), ${result.machine.cpus} shared cores, Node ${result.machine.node}; batches of ${BATCH} spans (${result.settings.payloadBytesPerBatch} B protobuf), ${CONNECTIONS} connections, ${DURATION_S} s, OTLP_WRITERS=${result.settings.writers}, OTLP_BATCH_MAX_SPANS=${result.settings.batchMaxSpans}.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| spans/s accepted through POST /v1/traces | **${result.ingest.spansPerSecond}** (target ${TARGET}: ${result.ingest.meetsTarget ? 'met' : 'NOT met'}) |`,
      ...(withoutTrigram ? [`| … same gateway, no dashboard client${inlineTrigram ? ', trigram search index dropped' : ' (no inline trigram index to drop; the search indexer runs)'} | ${withoutTrigram.spansPerSecond} spans/s (${Object.entries(withoutTrigram.statuses).map(([k, n]) => `${k}: ${n}`).join(', ')}) |`] : []),
      `| baseline B: the same INSERT straight from Node, all ${indexDefs.length} indexes | ${directRate} rows/s (ingest/baseline = ${result.baselineDirectInsert.ratio}) |`,
      `| … ${inlineTrigram ? 'without the trigram search index' : 'again (no inline trigram index to drop: a repeat of the row above)'} | ${directNoTrgm} rows/s |`,
      `| … with only the unique id index | ${directUniqueOnly} rows/s |`,
      `| responses | ${Object.entries(statuses).map(([s, n]) => `${s}: ${n}`).join(', ')} |`,
      `| request p50 / p95 | ${result.ingest.requestP50Ms} / ${result.ingest.requestP95Ms} ms |`,
      `| accepted spans stored exactly once | ${result.ingest.everyAcceptedSpanStoredOnce} (${result.ingest.rowsWritten} rows) |`,
      `| gateway peak RSS | ${result.ingest.peakRssMiB} MiB |`,
      `| CPU µs per accepted span: gateway / PostgreSQL (this database's backends) / bench client | ${result.cpuPerSpanUs.gateway} / ${result.cpuPerSpanUs.postgres} / ${result.cpuPerSpanUs.benchClient} (machine busy ${Math.round(result.cpuPerSpanUs.machineBusyShare * 100)} % of ${os.cpus().length} cores) |`,
      `| … PostgreSQL by what the backend was running when sampled (every 100 ms) | ${Object.entries(result.cpuPerSpanUs.postgresByRole).map(([k, us]) => `${k} ${us}`).join(', ')} |`,
      `| search indexer: rows pending at the end, time to drain | ${pendingAtEnd ?? 'n/a'}, ${drainMs} ms |`,
      `| dashboard p95 alone (baseline A) | ${dashAlone.p95.toFixed(1)} ms (${dashAlone.n} requests) |`,
      `| dashboard p95 while ingesting | ${dashIngest.p95.toFixed(1)} ms (${dashIngest.n} requests, ${dashIngest.errors} errors; ratio ${result.dashboard.p95Ratio}) |`,
      '',
      ...(profile ? ['Gateway CPU profile (top self time):', '', profile, ''] : []),
    ].join('\n');
    fs.writeFileSync(path.join(RESULTS, 'ingest.md'), md);
    process.stdout.write(`${md}\n`);
  } finally {
    if (gateway) await stopChild(gateway);
    await handle.close();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.end();
  }
}

/** Busy share of all cores since `since` (from /proc/stat), or the counters now. */
function machineCpu(): { busy: number; total: number };
function machineCpu(since: { busy: number; total: number }): { busyShare: number };
function machineCpu(since?: { busy: number; total: number }): { busy: number; total: number } | { busyShare: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  const now = { busy: total - idle, total };
  if (!since) return now;
  return { busyShare: Math.round(((now.busy - since.busy) / Math.max(1, now.total - since.total)) * 100) / 100 };
}

function randomUUIDv4(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
