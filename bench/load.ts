/**
 * `npm run bench:load`: the seed's load table, driven by autocannon against the production
 * build (`node dist/src/main.js`) in server mode (plain PostgreSQL with BENCH_TRACES traces,
 * Redis), 30 API keys in 3 orgs, document limits, pricing, budgets and the per-field cache on,
 * and, in the same run and on the same machine,
 *
 *   (a) stock Apollo Server 5 answering the same response shapes from memory
 *       (bench/support/stock-apollo.ts: no database, cache, auth or plugins), and
 *   (b) the same schema and resolvers on Apollo Server 5 with the official response-cache
 *       plugin (bench/support/response-cache-apollo.ts).
 *
 * Scenarios (the seed's rows): trace list `traces(first: 50)` at 100 connections, five dashboard
 * aggregations at 50, a mixed dashboard workload at 200; BENCH_STRESS=1 adds a ramp of the mixed
 * workload against the gateway. Each scenario warms up for BENCH_WARMUP_S (every answer of the
 * first two rows is then in the cache) and is measured for BENCH_DURATION_S. Reported per
 * server: rps, p50/p95/p99, success rate (2xx without GraphQL errors), server CPU per request, the local PostgreSQL server's CPU per request (all its processes),
 * max RSS, max PostgreSQL and Redis connections, cache hit rate. Results: bench/results/load.json
 * and load.md.
 *
 * Budgets and per-field limits are raised for the run so that no request is refused: the table
 * measures what checking and charging cost, not refusals (rate-limit tests cover those).
 *
 *   npm run bench:load
 *   BENCH_PROFILE=before npm run bench:load   # only the trace list on the gateway, under --cpu-prof
 *   BENCH_SCENARIOS=traceList BENCH_TARGETS=gateway,stock BENCH_DURATION_S=10 npm run bench:load
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { createClient } from '@redis/client';
import { loadConfig } from '../src/config';
import { openDatabase, type DatabaseHandle } from '../src/db/database';
import { createApiKey } from '../src/auth/api-keys';
import type { Role } from '../src/db/schema';
import { ensureSeededDatabase } from './support/seeded-database';
import { AGGREGATIONS, MIXED, TRACE_LIST, type LoadOperation } from './support/load-scenarios';
import { cpuMicros, postgresCpuMicros, startSampler } from './support/process-stats';
import { benchGatewayEnv, startChild, stopChild } from './support/gateway-process';
import { profileTable, summarizeProfileFile } from './support/cpu-profile-summary';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const TRACES = Number(process.env.BENCH_TRACES ?? 300_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:load:${process.pid}:`;
const PROFILE = process.env.BENCH_PROFILE; // a label: the trace-list hit path under --cpu-prof
const STRESS = process.env.BENCH_STRESS === '1';
const STRESS_STEPS = (process.env.BENCH_STRESS_CONNECTIONS ?? '50,100,200,400,800').split(',').map(Number);
const STRESS_STEP_S = Number(process.env.BENCH_STRESS_STEP_S ?? 10);
const KEY_NAME = 'bench-load';
/** off,on: the gateway once with the per-field cache off, once with it on (other targets once). */
const GATEWAY_CACHE = (process.env.BENCH_GATEWAY_CACHE ?? 'on').split(',');
/** An ISO instant: relative ranges (`last: "7d"`) become explicit ranges ending there (a seeded database ends when it was seeded). */
const ANCHOR_TO = process.env.BENCH_ANCHOR_TO ? new Date(process.env.BENCH_ANCHOR_TO) : null;
const RESULT_NAME = process.env.BENCH_RESULT_NAME;
const LAST_MS: Record<string, number> = { '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000, '30d': 2_592_000_000 };
function anchored(ops: readonly LoadOperation[]): LoadOperation[] {
  if (!ANCHOR_TO) return [...ops];
  const to = ANCHOR_TO.toISOString();
  return ops.map((o) => ({
    ...o,
    query: o.query.replace(/range: \{last: "(\w+)"\}/g, (_m, last: string) => `range: {from: "${new Date(ANCHOR_TO.getTime() - LAST_MS[last]!).toISOString()}", to: "${to}"}`),
  }));
}
const PG_PORT = Number(new URL(process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres').port || 5432);
const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);

type TargetName = 'gateway' | 'gateway-cache-off' | 'stock' | 'responseCache';

interface Scenario {
  readonly name: string;
  readonly label: string;
  readonly connections: number;
  readonly operations: readonly LoadOperation[];
}

const SCENARIOS: Scenario[] = [
  { name: 'traceList', label: 'trace list `traces(first: 50)`', connections: 100, operations: [TRACE_LIST] },
  { name: 'aggregations', label: 'five dashboard aggregations', connections: 50, operations: anchored(AGGREGATIONS) },
  { name: 'mixed', label: 'mixed dashboard workload', connections: 200, operations: anchored(MIXED) },
];

interface Target {
  readonly name: TargetName;
  readonly label: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Cache hits and lookups (and SQL statements, where known) so far, where the server counts them. */
  cacheCounts(): Promise<{ hits: number; lookups: number; statements?: number } | null>;
}

interface Key {
  readonly key: string;
  readonly orgIndex: number;
}

interface Measurement {
  scenario: string;
  target: TargetName;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  successRate: number;
  cpuMicrosPerRequest: number;
  /** The local PostgreSQL server's CPU (all its processes) per request over the same run. */
  dbCpuMicrosPerRequest: number;
  maxRssMiB: number;
  maxDbConnections: number;
  maxRedisConnections: number;
  cacheHitRate: number | null;
  dbStatementsPerRequest: number | null;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function mulberry32(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function gatewayCacheCounts(url: string): Promise<{ hits: number; lookups: number; statements: number }> {
  const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
  const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+(?:\\.\\d+)?)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  const hits = sum('cache_hits_total');
  return { hits, lookups: hits + sum('cache_misses_total'), statements: sum('db_queries_total') };
}

function ipcStats(child: ChildProcess): Promise<{ hits: number; lookups: number }> {
  return new Promise((resolve) => {
    const onMessage = (m: { stats?: { requests: number; hits: number } }) => {
      if (!m.stats) return;
      child.off('message', onMessage);
      resolve({ hits: m.stats.hits, lookups: m.stats.requests });
    };
    child.on('message', onMessage);
    child.send('stats');
  });
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : NaN);

/** One autocannon run; every request picks an operation (by weight) and an API key. */
async function drive(
  url: string,
  scenario: Scenario,
  keys: readonly Key[],
  traceIds: readonly (readonly string[])[],
  seconds: number,
  connections: number,
  seed: number,
): Promise<{ requests: number; ok: number; latencies: Float64Array; seconds: number }> {
  const rand = mulberry32(seed);
  const total = scenario.operations.reduce((a, o) => a + o.weight, 0);
  const pickOperation = () => {
    let x = rand() * total;
    for (const o of scenario.operations) if ((x -= o.weight) < 0) return o;
    return scenario.operations[scenario.operations.length - 1]!;
  };
  const latencies: number[] = [];
  let ok = 0;
  let requests = 0;
  const started = performance.now();
  let finished!: () => void;
  let failed!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => ((finished = resolve), (failed = reject)));
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 10,
    method: 'POST',
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          const op = pickOperation();
          const key = keys[Math.floor(rand() * keys.length)]!;
          const variables = op.variables?.({ traceIds: traceIds[key.orgIndex]!, rand });
          return {
            ...req,
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
            body: JSON.stringify(variables ? { query: op.query, variables } : { query: op.query }),
          };
        },
        onResponse: (status: number, body: string) => {
          requests++;
          if (status >= 200 && status < 300 && !body.startsWith('{"errors"')) ok++;
        },
      },
    ] as never,
  }, (err) => (err ? failed(err) : finished()));
  instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  await done;
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { requests, ok, latencies: sorted, seconds: elapsed };
}

/** Wall-clock spans of the measured (not warm-up) parts, for cutting the CPU profile to them. */
const measuredSpans: Array<{ from: number; to: number }> = [];

async function measure(target: Target, scenario: Scenario, keys: readonly Key[], traceIds: readonly (readonly string[])[], connections = scenario.connections, seconds = DURATION_S): Promise<Measurement> {
  if (WARMUP_S > 0) await drive(target.url, scenario, keys, traceIds, WARMUP_S, connections, 1);
  const pid = target.child.pid!;
  const spanStart = Date.now();
  const before = await target.cacheCounts();
  const sampler = startSampler(pid, [PG_PORT, REDIS_PORT]);
  const cpu0 = cpuMicros(pid);
  const db0 = postgresCpuMicros();
  const r = await drive(target.url, scenario, keys, traceIds, seconds, connections, 2);
  const cpu1 = cpuMicros(pid);
  const db1 = postgresCpuMicros();
  measuredSpans.push({ from: spanStart, to: Date.now() });
  const max = sampler.stop();
  const after = await target.cacheCounts();
  const lookups = before && after ? after.lookups - before.lookups : 0;
  return {
    scenario: scenario.name,
    target: target.name,
    connections,
    seconds: round(r.seconds),
    requests: r.requests,
    rps: round(r.requests / r.seconds, 0),
    p50: round(percentile(r.latencies, 0.5)),
    p95: round(percentile(r.latencies, 0.95)),
    p99: round(percentile(r.latencies, 0.99)),
    successRate: r.requests ? round((100 * r.ok) / r.requests, 2) : 0,
    cpuMicrosPerRequest: r.requests ? round((cpu1 - cpu0) / r.requests, 0) : 0,
    dbCpuMicrosPerRequest: r.requests ? round((db1 - db0) / r.requests, 0) : 0,
    maxRssMiB: round(max.rss / 1_048_576, 0),
    maxDbConnections: max.connections[PG_PORT]!,
    maxRedisConnections: max.connections[REDIS_PORT]!,
    cacheHitRate: before && after && lookups > 0 ? round((100 * (after.hits - before.hits)) / lookups, 1) : null,
    dbStatementsPerRequest: before?.statements !== undefined && after?.statements !== undefined && r.requests ? round((after.statements - before.statements) / r.requests, 3) : null,
  };
}

async function createKeys(db: DatabaseHandle): Promise<{ keys: Key[]; traceIds: string[][]; orgs: string[] }> {
  const orgs = (await db.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((o) => o.id).slice(0, 3);
  const keys: Key[] = [];
  const traceIds: string[][] = [];
  const roles: Role[] = ['ADMIN', 'ADMIN', 'DEVELOPER', 'DEVELOPER', 'DEVELOPER', 'VIEWER', 'VIEWER', 'VIEWER', 'VIEWER'];
  for (const [orgIndex, org] of orgs.entries()) {
    const project = (await db.db.selectFrom('projects').select('id').where('org_id', '=', org).orderBy('id').executeTakeFirstOrThrow()).id;
    for (const role of roles) keys.push({ key: (await createApiKey(db.db, { orgId: org, name: KEY_NAME, role })).key, orgIndex });
    // A tenth key per org limited to one project: its own cache scope.
    keys.push({ key: (await createApiKey(db.db, { orgId: org, name: KEY_NAME, role: 'VIEWER', projectIds: [project] })).key, orgIndex });
    // Trace ids every key of the org may read (the scoped key's project), spread over the month.
    const ids = await db.db.selectFrom('traces').select('id').where('org_id', '=', org).where('project_id', '=', project).orderBy('ts', 'desc').limit(4000).execute();
    traceIds.push(ids.filter((_, i) => i % 40 === 0).map((r) => r.id));
  }
  return { keys, traceIds, orgs };
}

/** Each operation's answer from the gateway, for the stock server to hold in memory. */
async function recordFixtures(url: string, keys: readonly Key[], traceIds: readonly (readonly string[])[], file: string): Promise<void> {
  const fixtures: { query: string; variables?: Record<string, unknown>; data: unknown }[] = [];
  const ask = async (key: string, query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
    if (res.status !== 200 || body.errors) throw new Error(`fixture ${query.slice(0, 60)}… failed: ${res.status} ${JSON.stringify(body.errors)}`);
    fixtures.push({ query, variables, data: body.data });
  };
  const admin = keys.find((k) => k.orgIndex === 0)!.key;
  const seen = new Set<string>();
  for (const op of [TRACE_LIST, ...AGGREGATIONS, ...MIXED]) {
    if (seen.has(op.query)) continue;
    seen.add(op.query);
    if (!op.variables) await ask(admin, op.query);
    else {
      for (const [orgIndex, ids] of traceIds.entries()) {
        const key = keys.find((k) => k.orgIndex === orgIndex)!.key;
        for (const id of ids) await ask(key, op.query, { id });
      }
    }
  }
  fs.writeFileSync(file, JSON.stringify(fixtures));
}

function gatewayEnv(databaseUrl: string): Record<string, string> {
  return benchGatewayEnv({ databaseUrl, redisUrl: REDIS_URL, redisKeyPrefix: PREFIX });
}

function markdown(results: Measurement[], meta: Record<string, unknown>): string {
  const targets: Record<TargetName, string> = { gateway: 'gateway', 'gateway-cache-off': 'gateway, per-field cache off', stock: '(a) stock Apollo, from memory', responseCache: '(b) Apollo + response cache' };
  const lines = [
    `${meta.traces} traces, ${meta.keys} API keys in ${meta.orgs} orgs, ${meta.durationS} s per row (stress rows ${STRESS_STEP_S} s) after ${meta.warmupS} s warm-up, autocannon on the same machine (${meta.cpus} CPUs).`,
    '',
    '| scenario | server | connections | rps | p50 ms | p95 ms | p99 ms | success % | CPU µs/request | DB CPU µs/request | max RSS MiB | DB conns | Redis conns | cache hit % | SQL/request |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.scenario} | ${targets[r.target]} | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.successRate} | ${r.cpuMicrosPerRequest} | ${r.dbCpuMicrosPerRequest} | ${r.maxRssMiB} | ${r.maxDbConnections} | ${r.maxRedisConnections} | ${r.cacheHitRate ?? '—'} | ${r.dbStatementsPerRequest ?? '—'} |`,
    );
  }
  const ratio = (scenario: string, a: TargetName, b: TargetName) => {
    const x = results.find((r) => r.scenario === scenario && r.target === a);
    const y = results.find((r) => r.scenario === scenario && r.target === b);
    return x && y ? `${round(x.rps / y.rps, 2)}×` : null;
  };
  lines.push('');
  for (const s of SCENARIOS) {
    const vsStock = ratio(s.name, 'gateway', 'stock');
    const vsCache = ratio(s.name, 'gateway', 'responseCache');
    if (vsStock || vsCache) lines.push(`- ${s.name}: gateway rps ${vsStock ?? '—'} of (a), ${vsCache ?? '—'} of (b)`);
  }
  return lines.join('\n') + '\n';
}

async function main() {
  const databaseUrl = await ensureSeededDatabase({ traces: TRACES, days: DAYS });
  if (process.env.BENCH_SKIP_BUILD !== '1') {
    process.stderr.write('building (npm run build)…\n');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  const setup = await openDatabase(loadConfig({ DATABASE_URL: databaseUrl, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const redis = createClient({ url: REDIS_URL });
  redis.on('error', () => undefined);
  await redis.connect();
  const children: ChildProcess[] = [];
  const results: Measurement[] = [];
  try {
    await setup.db.deleteFrom('api_keys').where('name', '=', KEY_NAME).execute();
    const { keys, traceIds, orgs } = await createKeys(setup);
    const profileDir = PROFILE ? path.join(RESULTS, 'profiles', PROFILE) : undefined;
    if (profileDir) {
      fs.rmSync(profileDir, { recursive: true, force: true });
      fs.mkdirSync(profileDir, { recursive: true });
    }
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const gatewaySpawnedAt = Date.now();
    const targets: Target[] = [];
    let gw!: { child: ChildProcess; url: string };
    if (GATEWAY_CACHE.includes('off')) {
      const off = await startChild(process.execPath, [...nodeArgs, 'dist/src/main.js'], { ...gatewayEnv(databaseUrl), CACHE_ENABLED: 'false' });
      children.push(off.child);
      gw = off;
      targets.push({ name: 'gateway-cache-off', label: 'gateway, cache off', url: off.url, child: off.child, cacheCounts: () => gatewayCacheCounts(off.url) });
    }
    if (GATEWAY_CACHE.includes('on')) {
      gw = await startChild(process.execPath, [...nodeArgs, 'dist/src/main.js'], gatewayEnv(databaseUrl));
      children.push(gw.child);
      targets.push({ name: 'gateway', label: 'gateway', url: gw.url, child: gw.child, cacheCounts: () => gatewayCacheCounts(gw.url) });
    }
    const wanted = new Set((process.env.BENCH_TARGETS ?? (PROFILE ? 'gateway' : 'gateway,stock,responseCache')).split(','));
    if (wanted.has('stock')) {
      const fixtures = path.join(RESULTS, 'load-fixtures.json');
      await recordFixtures(gw.url, keys, traceIds, fixtures);
      const stock = await startChild(process.execPath, ['--import', 'tsx', 'bench/support/stock-apollo.ts', fixtures], {});
      children.push(stock.child);
      targets.push({ name: 'stock', label: 'stock Apollo', url: stock.url, child: stock.child, cacheCounts: async () => null });
    }
    if (wanted.has('responseCache')) {
      const rc = await startChild(process.execPath, ['--import', 'tsx', 'bench/support/response-cache-apollo.ts'], { DATABASE_URL: databaseUrl }, true);
      children.push(rc.child);
      targets.push({ name: 'responseCache', label: 'Apollo + response cache', url: rc.url, child: rc.child, cacheCounts: () => ipcStats(rc.child) });
    }
    const scenarioNames = new Set((process.env.BENCH_SCENARIOS ?? (PROFILE ? 'traceList' : SCENARIOS.map((s) => s.name).join(','))).split(','));
    for (const scenario of SCENARIOS.filter((s) => scenarioNames.has(s.name))) {
      for (const target of targets) {
        process.stderr.write(`${scenario.name} → ${target.name} (${scenario.connections} connections, ${WARMUP_S}+${DURATION_S} s)…\n`);
        const m = await measure(target, scenario, keys, traceIds);
        results.push(m);
        process.stderr.write(`  ${JSON.stringify(m)}\n`);
      }
    }
    if (STRESS) {
      const mixed = SCENARIOS.find((s) => s.name === 'mixed')!;
      for (const connections of STRESS_STEPS) {
        process.stderr.write(`stress: mixed → gateway at ${connections} connections…\n`);
        const m = await measure(targets[targets.length - 1]!, { ...mixed, name: `stress-${connections}` }, keys, traceIds, connections, STRESS_STEP_S);
        results.push(m);
        process.stderr.write(`  ${JSON.stringify(m)}\n`);
      }
    }
    const meta = { traces: TRACES, keys: keys.length, orgs: orgs.length, durationS: DURATION_S, warmupS: WARMUP_S, cpus: (await import('node:os')).cpus().length, node: process.version };
    await stopChild(gw.child);
    let profile = '';
    if (profileDir) {
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        // Only the measured span (start-up, module loading and warm-up left out); the profile's
        // clock starts when the process does, within a few ms of the spawn.
        const span = measuredSpans[0]!;
        const window = { fromMs: span.from - gatewaySpawnedAt, toMs: span.to - gatewaySpawnedAt };
        const summary = summarizeProfileFile(path.join(profileDir, file), 30, window);
        profile = `\nCPU profile (${PROFILE}): ${path.join(profileDir, file)}, the ${round((window.toMs - window.fromMs) / 1000)} s measured, ${summary.totalMs} ms sampled; top functions by self time\n\n${profileTable(summary)}\n`;
        fs.writeFileSync(path.join(RESULTS, `load-profile-${PROFILE}.md`), profile);
      }
    }
    const table = markdown(results, meta);
    const onlyStress = results.length > 0 && results.every((r) => r.scenario.startsWith('stress-'));
    const base = RESULT_NAME ?? (PROFILE ? `load-${PROFILE}` : onlyStress ? 'load-stress' : 'load');
    fs.writeFileSync(path.join(RESULTS, `${base}.json`), JSON.stringify({ meta, results }, null, 2));
    fs.writeFileSync(path.join(RESULTS, `${base}.md`), table + profile);
    console.log(`\n${table}${profile}`);
  } finally {
    for (const c of children) await stopChild(c);
    for await (const batch of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 }) as AsyncIterable<string[] | string>) {
      const ks = Array.isArray(batch) ? batch : [batch];
      if (ks.length) await redis.unlink(ks);
    }
    await redis.quit();
    await setup.db.deleteFrom('api_keys').where('name', '=', KEY_NAME).execute();
    await setup.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
