/**
 * `npm run bench:queries`: every root field over BENCH_TRACES seeded traces (BENCH_DAYS days) in
 * the local PostgreSQL, through real HTTP against the gateway as a separate process, single
 * client, p50/p95/p99 over repeated runs with varied arguments. Aggregations are measured per
 * range (1h, 24h, 7d, 30d and, with 90 days of data, 90d), with the gateway's CPU time per
 * request read from /proc. In the same run:
 *
 *   - the aggregations once more with rollups switched off (raw vs rollup ratio), unless
 *     BENCH_RAW=0;
 *   - with BENCH_BASELINE_DIR (a checkout of main with its codegen run), the same questions
 *     to main's gateway on the same database (BENCH_BASELINE_RUNS runs each, limited to
 *     BENCH_BASELINE_FIELDS / BENCH_BASELINE_RANGES when given): before/after;
 *   - with BENCH_PROFILE=1, both gateways under --cpu-prof; top functions by self time;
 *   - with BENCH_CONCURRENT=1, the seed's aggregation scenario (50 clients, cache off, then
 *     on) through `bench/load.ts` (production build).
 *
 * Ranges are anchored at the data's last trace (BENCH_ANCHOR=data, the default: a seeded
 * database ends when it was seeded) or at now (BENCH_ANCHOR=now, relative `last` ranges).
 *
 *   BENCH_TRACES=1000000 BENCH_RUNS=40 npm run bench:queries
 *   BENCH_TRACES=10000000 BENCH_DAYS=90 BENCH_BASELINE_DIR=/tmp/main npm run bench:queries
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { createApiKey } from '../src/auth/api-keys';
import { ensureSeededDatabase } from './support/seeded-database';
import { cpuMicros, rssBytes } from './support/process-stats';
import { profileTable, summarizeProfileFile } from './support/cpu-profile-summary';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const TRACES = Number(process.env.BENCH_TRACES ?? 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const RANGES = (process.env.BENCH_RANGES ?? (DAYS >= 90 ? '1h,24h,7d,30d,90d' : '1h,24h,7d,30d')).split(',');
const ANCHOR = process.env.BENCH_ANCHOR ?? 'data';
const BASELINE_DIR = process.env.BENCH_BASELINE_DIR;
const BASELINE_RUNS = Number(process.env.BENCH_BASELINE_RUNS ?? 5);
const BASELINE_FIELDS = process.env.BENCH_BASELINE_FIELDS?.split(',');
const BASELINE_RANGES = process.env.BENCH_BASELINE_RANGES?.split(',');
const RAW = process.env.BENCH_RAW !== '0';
const PROFILE = process.env.BENCH_PROFILE === '1';
const FIELDS = process.env.BENCH_FIELDS?.split(',');
const KEY_NAME = 'bench-queries';

const RANGE_MS: Record<string, number> = { '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000 };

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  profileDir?: string;
  spawnedAt: number;
  /** Wall-clock span of the measured requests (warm-ups included), for cutting the profile to it. */
  span?: { from: number; to: number };
}

/** The gateway of `dir` as its own process (tsx), like `npm start` without the codegen step. */
function startServer(name: string, dir: string, env: Record<string, string>): Promise<Server> {
  const profileDir = PROFILE ? path.join(RESULTS, 'profiles', `queries-${name}`) : undefined;
  if (profileDir) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.mkdirSync(profileDir, { recursive: true });
  }
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', 'src/main.ts'];
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http[^"]+)"[^\n]*gateway listening/.exec(out) ?? /listening (http\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ name, url: m[1]!, child, profileDir, spawnedAt });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}:\n${out}`)));
  });
}

function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
    s.child.once('exit', () => (clearTimeout(timer), resolve()));
    s.child.kill('SIGTERM');
  });
}

function env(url: string, useRollups: boolean): Record<string, string> {
  return {
    DATABASE_URL: url,
    DATABASE_MODE: 'postgres',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    ANALYTICS_USE_ROLLUPS: String(useRollups),
    STATEMENT_TIMEOUT_AGGREGATE_MS: '300000',
    // Measure the queries themselves: no per-field cache, no budgets in the way.
    CACHE_ENABLED: 'false',
    CACHE_WARM_ON_START: 'false',
    RATE_LIMIT_ENABLED: 'false',
    OTEL_SDK_DISABLED: 'true',
    BENCH_SKIP_MIGRATIONS: '1',
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;

async function timeQuery(url: string, key: string, query: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { errors?: unknown[] };
  const ms = performance.now() - t;
  if (body.errors) throw new Error(`query failed: ${JSON.stringify(body.errors).slice(0, 300)}\n${query}`);
  return ms;
}

type Ctx = { traceId: string; sessionId: string; range: (r: string) => string; filterRange: (r: string) => string };
type Case = { field: string; aggregation: boolean; queries: (i: number, ctx: Ctx, r: string) => string };

const GROUPS = ['', 'groupBy: [MODEL]', 'groupBy: [PROVIDER, ENVIRONMENT]', 'groupBy: [PROJECT]', 'groupBy: [USER], groupLimit: 10'];
const CASES: Case[] = [
  { field: 'traces', aggregation: false, queries: (i, c) => `{ traces(first: ${[20, 50, 100][i % 3]}, filter: ${c.filterRange(['1h', '24h', '7d', '30d'][i % 4]!)}) { nodes { id model totalCostUsd durationMs } pageInfo { endCursor } } }` },
  { field: 'traces (filtered, by cost)', aggregation: false, queries: (i, c) => `{ traces(first: 50, filter: {${c.filterRange('7d').slice(1, -1)}, models: ["gpt-4o"], status: ${i % 2 ? 'OK' : 'ERROR'}}, orderBy: {field: COST}) { nodes { id totalCostUsd } } }` },
  { field: 'trace', aggregation: false, queries: (_i, c) => `{ trace(id: "${c.traceId}") { id model input output project { name } scores { name value } session { traceCount } related { id } } }` },
  { field: 'sessions', aggregation: false, queries: () => `{ sessions(first: 20) { nodes { id traceCount totalCostUsd } } }` },
  { field: 'projects', aggregation: true, queries: (_i, c, r) => `{ projects { id name stats(range: ${c.range(r)}) { requestCount totalCostUsd p95LatencyMs } } }` },
  { field: 'performance', aggregation: true, queries: (i, c, r) => `{ performance(range: ${c.range(r)}, ${GROUPS[i % 5]}, interval: AUTO) { totals { requestCount errorRate latency { p50Ms p95Ms p99Ms } ttftAvgMs } groups { stats { requestCount latency { p95Ms } } } series { stats { requestCount } } } }` },
  { field: 'costs', aggregation: true, queries: (i, c, r) => `{ costs(range: ${c.range(r)}, ${GROUPS[i % 5]}, interval: AUTO) { totals { totalUsd promptUsd completionUsd } groups { stats { totalUsd } } series { stats { totalUsd } } ${i % 2 ? 'topSpenders(by: USER, limit: 5) { key { userId } stats { totalUsd } }' : ''} } }` },
  { field: 'quality', aggregation: true, queries: (i, c, r) => `{ quality(range: ${c.range(r)}${i % 2 ? ', groupBy: [MODEL]' : ''}) { traceCount tracesWithScores feedbackShare scores { name mean count${i % 4 === 3 ? ' bins { count } labels { label count }' : ''} } } }` },
  { field: 'compareModels', aggregation: true, queries: (_i, c, r) => `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "gemini-2.0-flash"], range: ${c.range(r)}) { models { model requestCount latency { p95Ms } costPerRequestUsd quality { name mean } } } }` },
];

interface Stat {
  p50: number;
  p95: number;
  p99: number;
  cpuMsPerRequest: number;
}

async function measure(s: Server, key: string, c: Case, ctx: Ctx, r: string, runs: number): Promise<Stat> {
  const times: number[] = [];
  s.span = { from: s.span?.from ?? Date.now(), to: Date.now() };
  await timeQuery(s.url, key, c.queries(0, ctx, r)); // warm-up
  const cpu0 = cpuMicros(s.child.pid!);
  for (let i = 0; i < runs; i++) times.push(await timeQuery(s.url, key, c.queries(i, ctx, r)));
  const cpu1 = cpuMicros(s.child.pid!);
  s.span.to = Date.now();
  times.sort((a, b) => a - b);
  return { p50: pct(times, 0.5), p95: pct(times, 0.95), p99: pct(times, 0.99), cpuMsPerRequest: (cpu1 - cpu0) / 1000 / runs };
}

async function main() {
  const url = await ensureSeededDatabase({ traces: TRACES, days: DAYS });
  const h = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const org = (await h.db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
  await h.db.deleteFrom('api_keys').where('name', '=', KEY_NAME).execute();
  const { key } = await createApiKey(h.db, { orgId: org, name: KEY_NAME, role: 'ADMIN' });
  const sample = await h.db.selectFrom('traces').select(['id', 'session_id']).where('org_id', '=', org).where('session_id', 'is not', null).orderBy('ts', 'desc').limit(1).executeTakeFirstOrThrow();
  const maxTs = (await sql<{ t: Date }>`SELECT max(ts) AS t FROM traces`.execute(h.db)).rows[0]!.t;
  const size = (await sql<{ s: string }>`SELECT pg_size_pretty(pg_database_size(current_database())) AS s`.execute(h.db)).rows[0]!.s;
  const end = new Date(Math.floor(new Date(maxTs).getTime() / 60_000) * 60_000 + 60_000);
  const iso = (ms: number) => new Date(ms).toISOString();
  const ctx: Ctx = {
    traceId: sample.id,
    sessionId: sample.session_id as string,
    range: (r) => (ANCHOR === 'data' ? `{from: "${iso(end.getTime() - RANGE_MS[r]!)}", to: "${iso(end.getTime())}"}` : `{last: "${r}"}`),
    filterRange: (r) => (ANCHOR === 'data' ? `{from: "${iso(end.getTime() - RANGE_MS[r]!)}", to: "${iso(end.getTime())}"}` : `{last: "${r}"}`),
  };

  const after = await startServer('after', ROOT, env(url, true));
  const raw = RAW ? await startServer('raw', ROOT, env(url, false)) : null;
  const baseline = BASELINE_DIR ? await startServer('baseline', BASELINE_DIR, env(url, true)) : null;
  const rows: Record<string, unknown>[] = [];
  const f = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(1)).padStart(9);
  const out: string[] = [];
  const say = (s: string) => (process.stdout.write(s + '\n'), out.push(s));
  say(`${TRACES} traces over ${DAYS} days (database ${size}), ranges ending ${ANCHOR === 'data' ? `at the data's last trace ${end.toISOString()}` : 'now'}; ${RUNS} runs per row, baseline ${BASELINE_RUNS}; ms, gateway CPU ms/request`);
  say('');
  say(`| field | range | p50 | p95 | p99 | CPU ms | raw p50 | raw p99 | baseline p50 | baseline p99 | baseline CPU ms | baseline/after p50 |`);
  say('|---|---|---|---|---|---|---|---|---|---|---|---|');
  try {
    for (const c of CASES.filter((x) => !FIELDS || FIELDS.includes(x.field))) {
      for (const r of c.aggregation ? RANGES : ['—']) {
        let a: Stat;
        try {
          a = await measure(after, key, c, ctx, r, RUNS);
        } catch (err) {
          say(`| ${c.field} | ${r} | failed: ${String(err).slice(0, 120).replace(/\n/g, ' ')} |`);
          continue;
        }
        const w = raw && c.aggregation ? await measure(raw, key, c, ctx, r, Math.min(RUNS, BASELINE_RUNS)) : null;
        const inBaseline = (!BASELINE_FIELDS || BASELINE_FIELDS.includes(c.field)) && (!BASELINE_RANGES || !c.aggregation || BASELINE_RANGES.includes(r));
        const b = baseline && inBaseline ? await measure(baseline, key, c, ctx, r, BASELINE_RUNS) : null;
        rows.push({ field: c.field, range: r, ...a, raw: w, baseline: b });
        say(
          `| ${c.field} | ${r} |${f(a.p50)} |${f(a.p95)} |${f(a.p99)} |${f(a.cpuMsPerRequest)} |${f(w?.p50)} |${f(w?.p99)} |${f(b?.p50)} |${f(b?.p99)} |${f(b?.cpuMsPerRequest)} | ${b ? (b.p50 / a.p50).toFixed(1) + '×' : '—'} |`,
        );
      }
    }
    say('');
    say(`gateway RSS after the run: ${(rssBytes(after.child.pid!) / 1_048_576).toFixed(0)} MiB`);
  } finally {
    for (const s of [after, raw, baseline]) if (s) await stopServer(s);
    await h.db.deleteFrom('api_keys').where('name', '=', KEY_NAME).execute();
    await h.close();
  }
  for (const s of [after, baseline]) {
    const file = s?.profileDir && fs.readdirSync(s.profileDir).find((x) => x.endsWith('.cpuprofile'));
    if (s && file) {
      const window = s.span ? { fromMs: s.span.from - s.spawnedAt, toMs: s.span.to - s.spawnedAt } : undefined;
      const summary = summarizeProfileFile(path.join(s.profileDir!, file), 20, window);
      say(`\nCPU profile of the ${s.name} gateway while it answered (start-up left out; ${summary.totalMs} ms sampled), top functions by self time\n\n${profileTable(summary)}`);
    }
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  const base = `queries-${TRACES}`;
  fs.writeFileSync(path.join(RESULTS, `${base}.json`), JSON.stringify({ traces: TRACES, days: DAYS, runs: RUNS, anchor: ANCHOR, end, size, at: new Date().toISOString(), rows }, null, 2));
  fs.writeFileSync(path.join(RESULTS, `${base}.md`), out.join('\n') + '\n');

  if (process.env.BENCH_CONCURRENT === '1') {
    // The seed's aggregation scenario: 50 clients, cache off then on, production build.
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/load.ts'], {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        BENCH_SCENARIOS: 'aggregations',
        BENCH_TARGETS: 'gateway',
        BENCH_GATEWAY_CACHE: 'off,on',
        BENCH_ANCHOR_TO: ANCHOR === 'data' ? end.toISOString() : '',
        BENCH_RESULT_NAME: `load-aggregations-${TRACES}`,
      },
    });
    if (r.status !== 0) throw new Error(`bench/load.ts exited ${r.status}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
