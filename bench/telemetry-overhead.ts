/**
 * `npm run bench:telemetry`: throughput and CPU per request of the gateway with telemetry off,
 * at its defaults (metrics; no tracing without an OTLP endpoint), fully on (metrics + every
 * request traced and exported over OTLP/HTTP to a sink on loopback) and sampled (10%, as the
 * Kubernetes ConfigMap sets it). Each round starts fresh processes for every mode and drives
 * them in short alternating slices, so they share the same machine state. Bounded: about
 * BENCH_SECONDS per mode, workload and round, at most BENCH_MAX_REQUESTS per slice, 127.0.0.1 only.
 *
 *   BENCH_SECONDS=6 BENCH_ROUNDS=3 BENCH_CONCURRENCY=16 npm run bench:telemetry
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrator';
import { createApiKey } from '../src/auth/api-keys';
import { buildTraces, ensureOrgs, insertTraces } from '../test/support/trace-builder';
import { startGatewayProcess, type GatewayProcess } from '../test/support/gateway-process';

/** Seconds each mode is driven per workload and round, in slices. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 200_000);
const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = `gw_bench_telemetry_${process.pid}`;

type Mode = 'off' | 'default' | 'export' | 'export-sampled' | 'spans-no-metrics';
/**
 * off: no metrics, no tracing. default: what runs without an OTLP endpoint (metrics; no SDK).
 * export: metrics and every request traced and exported. export-sampled: the Kubernetes
 * ConfigMap's sampler (10%, parent-based). spans-no-metrics: to split the cost (BENCH_MODES=...).
 */
const MODES = (process.env.BENCH_MODES ?? 'off,default,export,export-sampled').split(',') as Mode[];
if (MODES[0] !== 'off') throw new Error('BENCH_MODES must start with off (the baseline)');

/**
 * Each traces request differs (random filter), so the field cache cannot answer: every one
 * reaches pg. sliceMs: how long each mode is driven before the next takes over (see main).
 */
const WORKLOADS: Record<string, { body: () => string; sliceMs: number }> = {
  'viewer (no DB)': { body: () => JSON.stringify({ query: 'query Viewer { viewer { orgId role } }' }), sliceMs: 500 },
  'traces (DB)': {
    body: () =>
      JSON.stringify({
        query: 'query Recent($min: Float) { traces(first: 10, filter: { minDurationMs: $min }) { nodes { id model totalCostUsd } } }',
        variables: { min: Math.random() * 50 },
      }),
    sliceMs: 1500,
  },
};

function modeEnv(mode: Mode, sinkPort: number): Record<string, string> {
  switch (mode) {
    case 'off':
      return { OTEL_SDK_DISABLED: 'true', METRICS_ENABLED: 'false' };
    case 'default':
      return {};
    case 'export':
      return { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_TRACES_SAMPLER: 'always_on' };
    case 'export-sampled':
      return { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };
    case 'spans-no-metrics':
      return { METRICS_ENABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_TRACES_SAMPLER: 'always_on' };
  }
}

async function prepareDatabase(): Promise<{ url: string; key: string }> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  await admin.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${DB_NAME}`;
  const handle = await openDatabase(loadConfig({ DATABASE_URL: u.toString(), DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  try {
    await migrateToLatest(handle);
    await ensureOrgs(handle.db, ['org_a', 'org_b']);
    const to = new Date();
    await insertTraces(handle.db, buildTraces(5000, { from: new Date(to.getTime() - 24 * 3600_000), to, seed: 11 }), 500);
    const { key } = await createApiKey(handle.db, { orgId: 'org_a', name: 'bench', role: 'ADMIN' });
    return { url: u.toString(), key };
  } finally {
    await handle.close();
  }
}

async function dropDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.end();
}

/** Accepts OTLP/HTTP exports and throws them away, counting what arrived. */
async function startSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (stats.bytes += c.length));
    req.on('end', () => {
      stats.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, stats, close: () => new Promise<void>((r) => server.close(() => r())) };
}

interface RunResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** Gateway CPU time (user + system) per request: steadier than req/s on a shared machine. */
  cpuUsPerRequest: number;
}

/** utime + stime of a process, in microseconds (Linux /proc; clock ticks are 1/100 s). */
function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface Slice {
  latencies: number[];
  errors: number;
  ms: number;
  cpuMicros: number;
}

/** CONCURRENCY keep-alive loops against one gateway for `ms` (at most MAX_REQUESTS); loopback only. */
async function drive(gw: GatewayProcess, agent: http.Agent, key: string, body: () => string, ms: number): Promise<Slice> {
  const u = new URL(gw.url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error('bench targets loopback only');
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const one = (payload: string) =>
    new Promise<number>((resolve) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${key}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(payload);
    });
  const cpuBefore = cpuMicros(gw.child.pid!);
  const started = performance.now();
  const until = started + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until && sent < MAX_REQUESTS) {
        sent++;
        const t = performance.now();
        const status = await one(body());
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }),
  );
  return { latencies, errors, ms: performance.now() - started, cpuMicros: cpuMicros(gw.child.pid!) - cpuBefore };
}

function summarise(slices: Slice[]): RunResult {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const ms = slices.reduce((n, s) => n + s.ms, 0);
  const cpu = slices.reduce((n, s) => n + s.cpuMicros, 0);
  const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 100) / 100;
  return {
    requests: latencies.length,
    errors: slices.reduce((n, s) => n + s.errors, 0),
    rps: Math.round(latencies.length / (ms / 1000)),
    p50: q(0.5),
    p99: q(0.99),
    cpuUsPerRequest: Math.round(cpu / Math.max(1, latencies.length)),
  };
}


async function main() {
  const { url: dbUrl, key } = await prepareDatabase();
  const sink = await startSink();
  const gateways = new Map<Mode, GatewayProcess>();
  const stopAll = async () => {
    for (const gw of gateways.values()) await gw.stop();
    gateways.clear();
  };
  try {
    const only = process.env.BENCH_WORKLOADS; // e.g. "viewer" to run one workload
    const workloads = Object.entries(WORKLOADS).filter(([n]) => !only || n.startsWith(only));
    const results: Record<string, Record<Mode, RunResult[]>> = {};
    const allSlices: Record<string, Record<Mode, Slice[]>> = {};
    for (const [name] of workloads) {
      results[name] = Object.fromEntries(MODES.map((m) => [m, []])) as unknown as Record<Mode, RunResult[]>;
      allSlices[name] = Object.fromEntries(MODES.map((m) => [m, []])) as unknown as Record<Mode, Slice[]>;
    }
    // Fresh processes every round: one process's JIT and heap layout can differ from another's
    // by more than the effect measured here, so no mode keeps a lucky (or unlucky) process.
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        gateways.set(
          mode,
          await startGatewayProcess({
            DATABASE_URL: dbUrl,
            DATABASE_MODE: 'postgres',
            NODE_ENV: 'production',
            LOG_LEVEL: 'info', // the 'gateway listening' line; per-request lines are debug
            RATE_LIMIT_ENABLED: 'false',
            CACHE_WARM_ON_START: 'false',
            DB_POOL_MIN: '5',
            ...modeEnv(mode, sink.port),
          }),
        );
      }
      const agents = new Map(MODES.map((m) => [m, new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })]));
      for (const [name, { body, sliceMs }] of workloads) {
        for (const mode of MODES) await drive(gateways.get(mode)!, agents.get(mode)!, key, body, 2000); // warm-up (JIT, pools)
        // Short slices, modes taking turns: bursts of load from other processes on the machine
        // then fall on every mode alike instead of on whichever ran at that moment.
        const slices = new Map<Mode, Slice[]>(MODES.map((m) => [m, []]));
        const turns = Math.max(1, Math.round((SECONDS * 1000) / sliceMs));
        for (let turn = 0; turn < turns; turn++) {
          for (let i = 0; i < MODES.length; i++) {
            const mode = MODES[(i + turn + round) % MODES.length] as Mode;
            slices.get(mode)!.push(await drive(gateways.get(mode)!, agents.get(mode)!, key, body, sliceMs));
          }
        }
        for (const mode of MODES) {
          allSlices[name]![mode].push(...slices.get(mode)!);
          const r = summarise(slices.get(mode)!);
          results[name]![mode].push(r);
          process.stderr.write(`${name.padEnd(16)} round ${round + 1} ${mode.padEnd(16)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  cpu ${r.cpuUsPerRequest} µs/req  errors ${r.errors}\n`);
        }
      }
      for (const a of agents.values()) a.destroy();
      await stopAll();
    }

    // Pooled over every slice of every round: the slices interleave, so totals compare fairly.
    const summary = Object.entries(allSlices).map(([name, byMode]) => {
      const all = Object.fromEntries(MODES.map((m) => [m, summarise(byMode[m])])) as Record<Mode, RunResult>;
      const each = <T>(f: (m: Mode) => T) => Object.fromEntries(MODES.map((m) => [m, f(m)])) as Record<Mode, T>;
      const off = all.off;
      return {
        workload: name,
        rps: each((m) => all[m].rps),
        p50Ms: each((m) => all[m].p50),
        cpuUsPerRequest: each((m) => all[m].cpuUsPerRequest),
        /** Throughput lost against `off`. */
        overheadPercent: each((m) => Math.round(((off.rps - all[m].rps) / off.rps) * 1000) / 10),
        /** CPU per request added against `off`: the steadier figure on a busy machine. */
        cpuOverheadPercent: each((m) => Math.round(((all[m].cpuUsPerRequest - off.cpuUsPerRequest) / off.cpuUsPerRequest) * 1000) / 10),
        errors: MODES.reduce((n, m) => n + all[m].errors, 0),
        perRound: results[name],
      };
    });
    const report = {
      when: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      settings: { seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY },
      otlpSink: { ...sink.stats },
      summary,
    };
    process.stdout.write('\nworkload          mode                       req/s  p50 ms  CPU µs/req  throughput loss  CPU added\n');
    for (const s of summary) {
      for (const m of MODES) {
        const over = m === 'off' ? '' : `${s.overheadPercent[m]}%`;
        const cpuOver = m === 'off' ? '' : `${s.cpuOverheadPercent[m]}%`;
        process.stdout.write(
          `${s.workload.padEnd(18)}${m.padEnd(18)}${String(s.rps[m]).padStart(14)}  ${String(s.p50Ms[m]).padStart(6)}  ${String(s.cpuUsPerRequest[m]).padStart(10)}  ${over.padStart(15)}  ${cpuOver.padStart(9)}\n`,
        );
      }
    }
    process.stdout.write(`OTLP sink received ${sink.stats.requests} exports, ${sink.stats.bytes} bytes\n`);
    const out = path.join(__dirname, 'results', 'telemetry-overhead.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`written to ${path.relative(process.cwd(), out)}\n`);
  } finally {
    await stopAll();
    await sink.close();
    await dropDatabase();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
