/**
 * `npm run bench:soak`: ten minutes of mixed load per storage mode, RSS over time.
 *
 *   npm run bench:soak                        # both modes, 600 s of load each
 *   npm run bench:soak -- --mode embedded --seconds 120 --concurrency 4
 *   npm run bench:soak -- --mode embedded --keep-data   # reuse bench/.soak-data (a restart)
 *
 * Each mode starts the gateway exactly as `npm start` does (the start script of package.json,
 * node flags included) in a child process: embedded (PGlite + TimescaleDB in the worker
 * thread, demo data in a new bench/.soak-data, 60k traces) or server (plain PostgreSQL on
 * 127.0.0.1, the same 60k demo traces in database gw_i13_soak_60000, Redis for limits and cache).
 * Phases: 30 s at rest after start, the load, 30 s at rest after. Every 5 s: RSS from /proc,
 * and from the gateway's /metrics the V8 heap, external memory and array buffers. The load:
 * dashboard panels (bench/support/load-scenarios.ts MIXED), trace detail by id, search,
 * sessions, deep pages, and 5 % hostile requests (bad cursors, NUL, deep variables, oversize
 * bodies). Reports at-rest RSS (the baseline of the same run), peak, end, after, the peak /
 * rest ratio and the RSS slope over the second half of the load, to bench/results/soak-<mode>.{json,md}.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createClient } from '@redis/client';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { createApiKey } from '../src/auth/api-keys';
import { ensureSeededDatabase } from './support/seeded-database';
import { MIXED, type LoadOperation } from './support/load-scenarios';
import { rssBytes } from './support/process-stats';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const MODES = (arg('mode', 'both') === 'both' ? ['embedded', 'server'] : [arg('mode', 'both')]) as ('embedded' | 'server')[];
const SECONDS = Number(arg('seconds', process.env.SOAK_SECONDS ?? '600'));
const CONCURRENCY = Number(arg('concurrency', '4'));
const REST_MS = Number(arg('rest', '30')) * 1000;
const SAMPLE_MS = 5000;
const MB = 1048576;

interface Sample {
  t: number;
  phase: 'rest' | 'load' | 'after';
  rssMb: number;
  heapUsedMb?: number;
  externalMb?: number;
  /** Embedded: PGlite's WebAssembly memory and the worker's heap. */
  wasmMb?: number;
  workerHeapMb?: number;
  requests: number;
}

function startScript(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts.start!;
}

function startGateway(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  // `exec`: the shell becomes the gateway, so the pid measured is the gateway's.
  const child = spawn('sh', ['-c', `exec ${startScript().replace(/^tsx /, 'npx tsx ')}`], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ACCESS_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out.slice(-3000)}`)), 300_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      const m = /"url":"(http[^"]+)"[^\n]*gateway listening/.exec(out) ?? /running at (http\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, log: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}:\n${out.slice(-3000)}`)));
  });
}

async function metricsOf(base: string): Promise<Pick<Sample, 'heapUsedMb' | 'externalMb' | 'wasmMb' | 'workerHeapMb'>> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const num = (name: string) => {
      const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} ([0-9.e+]+)`, 'm').exec(text);
      return m ? Number(m[1]) / MB : undefined;
    };
    return {
      heapUsedMb: num('nodejs_heap_size_used_bytes'),
      externalMb: num('nodejs_external_memory_bytes'),
      wasmMb: num('gateway_embedded_memory_bytes{part="wasm"}'),
      workerHeapMb: num('gateway_embedded_memory_bytes{part="worker_heap"}'),
    };
  } catch {
    return {};
  }
}

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

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const EXTRA: LoadOperation[] = [
  { name: 'search', query: 'query Search($q: String!) { searchTraces(query: $q, first: 20) { nodes { id model } } }', variables: ({ rand }) => ({ q: ['gpt', 'summar', 'user_1', 'error', 'refund', 'translate'][Math.floor(rand() * 6)] }), weight: 4 },
  { name: 'sessions', query: 'query Sessions { sessions(first: 20, filter: {last: "7d"}) { nodes { id projectId projectIds traceCount totalCostUsd } } }', weight: 3 },
  { name: 'bigPage', query: 'query BigPage { traces(first: 1000, orderBy: {field: TOKENS}) { nodes { id input output totalTokens } } }', weight: 1 },
];
const HOSTILE: Array<() => { body: string; type?: string }> = [
  () => ({ body: JSON.stringify({ query: 'query($a: Cursor) { traces(after: $a) { nodes { id } } }', variables: { a: b64(['TIMESTAMP:DESC', null, '2026-02-30T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000']) } }) }),
  () => ({ body: JSON.stringify({ query: '{ traces(filter: {models: ["a\\u0000b"]}) { nodes { id } } }' }) }),
  () => ({ body: `{"query":"{ viewer { orgId } }","variables":{"x":${'['.repeat(3000)}${']'.repeat(3000)}}}` }),
  () => ({ body: JSON.stringify({ query: `{ viewer { orgId } } # ${'x'.repeat(1_100_000)}` }) }),
  () => ({ body: JSON.stringify({ query: 'subscription { viewer { orgId } }' }) }),
  () => ({ body: JSON.stringify({ query: '{ viewer { orgId } }' }), type: 'application/json; charset=utf-16' }),
];

async function runMode(mode: 'embedded' | 'server') {
  const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', ROLLUP_REFRESH_INTERVAL_MS: '60000' };
  let key: string;
  const prefix = `soak:${process.pid}:`;
  if (mode === 'embedded') {
    const dataDir = path.join(ROOT, 'bench', '.soak-data');
    // A first start (what `npm start` does on a new machine) unless --keep-data: its builds
    // set PGlite's memory high-water mark, which a later start on the same data does not reach.
    if (!process.argv.includes('--keep-data')) fs.rmSync(dataDir, { recursive: true, force: true });
    Object.assign(env, { DATA_DIR: dataDir, DEMO_TRACES: '60000', DEMO_DAYS: '14' });
    // First start seeds the demo data; its keys are kept in the data directory.
    const gw = await startGateway(env);
    key = (JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-keys.json'), 'utf8')) as { role: string; key: string }[]).find((k) => k.role === 'ADMIN')!.key;
    return soak(mode, gw, key);
  }
  const url = await ensureSeededDatabase({ traces: 60_000, days: 14, dbName: 'gw_i13_soak_60000' });
  const h = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const org = (await h.db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
  key = (await createApiKey(h.db, { orgId: org, name: 'soak', role: 'ADMIN' })).key;
  await h.close();
  Object.assign(env, { DATABASE_URL: url, DATABASE_MODE: 'postgres', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: prefix });
  const gw = await startGateway(env);
  try {
    return await soak(mode, gw, key);
  } finally {
    // The limits and cache keys of this run only.
    const redis = createClient({ url: env.REDIS_URL });
    redis.on('error', () => undefined);
    await redis.connect();
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }) as AsyncIterable<string[] | string>) {
      const keys = Array.isArray(batch) ? batch : [batch];
      if (keys.length) await redis.unlink(keys);
    }
    await redis.quit();
  }
}

async function soak(mode: string, gw: { child: ChildProcess; url: string; log: () => string }, key: string) {
  const pid = gw.child.pid!;
  const base = gw.url.replace(/\/graphql$/, '');
  const started = Date.now();
  const samples: Sample[] = [];
  let requests = 0;
  let fiveXX = 0;
  let failures = 0;
  let phase: Sample['phase'] = 'rest';
  const sample = async () => samples.push({ t: Math.round((Date.now() - started) / 1000), phase, rssMb: rssBytes(pid) / MB, ...(await metricsOf(base)), requests });
  const sampler = setInterval(() => void sample(), SAMPLE_MS);
  await sample();
  const post = async (body: string, type = 'application/json') => {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${key}` }, body });
    await res.arrayBuffer();
    requests++;
    if (res.status >= 500) fiveXX++;
    return res;
  };
  const idsAnswer = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query: '{ traces(first: 1000) { nodes { id } } }' }) });
  const traceIds: string[] = ((await idsAnswer.json()) as { data: { traces: { nodes: { id: string }[] } } }).data.traces.nodes.map((n) => n.id);
  await new Promise((r) => setTimeout(r, REST_MS));

  phase = 'load';
  const ops = [...MIXED, ...EXTRA];
  const total = ops.reduce((s, o) => s + o.weight, 0);
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      const rand = mulberry32(1000 + w);
      while (Date.now() < deadline) {
        try {
          if (rand() < 0.05) {
            const h = HOSTILE[Math.floor(rand() * HOSTILE.length)]!();
            await post(h.body, h.type);
            continue;
          }
          let x = rand() * total;
          const op = ops.find((o) => (x -= o.weight) < 0) ?? ops[0]!;
          await post(JSON.stringify({ query: op.query, variables: op.variables?.({ traceIds, rand }) }));
        } catch {
          failures++;
        }
      }
    }),
  );
  phase = 'after';
  await new Promise((r) => setTimeout(r, REST_MS));
  await sample();
  clearInterval(sampler);
  gw.child.kill('SIGTERM');
  await new Promise((r) => gw.child.once('exit', r));
  return report(mode, samples, { requests, fiveXX, failures });
}

function report(mode: string, samples: Sample[], counts: { requests: number; fiveXX: number; failures: number }) {
  const rest = samples.filter((s) => s.phase === 'rest');
  const load = samples.filter((s) => s.phase === 'load');
  const after = samples.filter((s) => s.phase === 'after');
  const restRss = rest[rest.length - 1]!.rssMb;
  const peak = Math.max(...samples.map((s) => s.rssMb));
  const second = load.slice(Math.floor(load.length / 2));
  // Least-squares slope over the second half of the load, MB per minute.
  const n = second.length;
  const mt = second.reduce((s, x) => s + x.t, 0) / n;
  const mr = second.reduce((s, x) => s + x.rssMb, 0) / n;
  const slope = (second.reduce((s, x) => s + (x.t - mt) * (x.rssMb - mr), 0) / Math.max(1e-9, second.reduce((s, x) => s + (x.t - mt) ** 2, 0))) * 60;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const summary = {
    mode,
    startScript: startScript(),
    loadSeconds: SECONDS,
    concurrency: CONCURRENCY,
    requests: counts.requests,
    requestsPerSecond: r1(counts.requests / SECONDS),
    http5xx: counts.fiveXX,
    transportFailures: counts.failures,
    rssAtRestMb: r1(restRss),
    rssPeakMb: r1(peak),
    rssEndOfLoadMb: r1(load[load.length - 1]?.rssMb ?? NaN),
    rssAfterMb: r1(after[after.length - 1]?.rssMb ?? NaN),
    peakOverRest: Math.round((peak / restRss) * 100) / 100,
    slopeSecondHalfMbPerMin: r1(slope),
    heapUsedPeakMb: r1(Math.max(...samples.map((s) => s.heapUsedMb ?? 0))),
    externalPeakMb: r1(Math.max(...samples.map((s) => s.externalMb ?? 0))),
    wasmAtRestMb: rest[rest.length - 1]!.wasmMb === undefined ? null : r1(rest[rest.length - 1]!.wasmMb!),
    wasmPeakMb: samples.some((s) => s.wasmMb !== undefined) ? r1(Math.max(...samples.map((s) => s.wasmMb ?? 0))) : null,
    workerHeapPeakMb: samples.some((s) => s.workerHeapMb !== undefined) ? r1(Math.max(...samples.map((s) => s.workerHeapMb ?? 0))) : null,
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `soak-${mode}.json`), JSON.stringify({ summary, samples }, null, 2));
  const every = samples.filter((_, i) => i % 6 === 0 || i === samples.length - 1);
  const md = [
    `# bench:soak — ${mode}`,
    '',
    '```json',
    JSON.stringify(summary, null, 2),
    '```',
    '',
    '| t (s) | phase | RSS MB | main heap used MB | external MB | wasm MB | worker heap MB | requests |',
    '|---|---|---|---|---|---|---|---|',
    ...every.map((s) => `| ${s.t} | ${s.phase} | ${r1(s.rssMb)} | ${r1(s.heapUsedMb ?? NaN)} | ${r1(s.externalMb ?? NaN)} | ${s.wasmMb === undefined ? '—' : r1(s.wasmMb)} | ${s.workerHeapMb === undefined ? '—' : r1(s.workerHeapMb)} | ${s.requests} |`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(RESULTS, `soak-${mode}.md`), md);
  process.stdout.write(`${md}\n`);
  return summary;
}

(async () => {
  for (const mode of MODES) await runMode(mode);
})().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
