/**
 * `npm run bench:faults`: replays, under keep-alive load, a PostgreSQL restart, a Redis kill, a
 * Redis hang and a SIGTERM, and prints per phase what the clients saw: requests, errors by
 * code, HTTP 5xx, socket failures (reset / refused / timeout), p50/p99/max and how long the
 * gateway took to use the dependency again once it was back.
 *
 * Everything it disturbs is its own: a private PostgreSQL cluster (initdb into a temp dir, a
 * spare port; BENCH_FAULTS_PG=proxy uses a TCP proxy in front of the local server instead) and a
 * redis-server on a spare port. The gateway is the `npm start` process in plain-PostgreSQL mode.
 * Bounded in time (about a minute), 127.0.0.1 only; results in bench/results/faults.json.
 *
 *   BENCH_CONCURRENCY=16 BENCH_DOWN_MS=3000 npm run bench:faults
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { startGatewayProcess, type GatewayProcess } from '../test/support/gateway-process';
import { startKeepAliveLoad, type Outcome } from '../test/support/keepalive-load';
import { ownRedis } from '../test/support/cache-fixture';
import { seedOps } from '../test/support/ops-gateway';
import { TcpProxy } from '../test/support/tcp-proxy';
import { createTestDatabase } from '../test/support/postgres';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import { formatTable, summarize, type PhaseRow } from './support/fault-report';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const DOWN_MS = Number(process.env.BENCH_DOWN_MS ?? 3000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2000);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 4000);
const RECOVERY_WINDOW_MS = Number(process.env.BENCH_RECOVERY_WINDOW_MS ?? 5000);
const PG_MODE = process.env.BENCH_FAULTS_PG ?? 'private';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A dashboard-like mix: mostly cacheable panels (a few distinct documents), some uncached reads. */
const KINDS = ['cached', 'cached', 'cached', 'uncached', 'viewer'] as const;
const kindOf = (n: number) => KINDS[n % KINDS.length]!;
const queryOf = (n: number) => {
  switch (kindOf(n)) {
    case 'cached':
      return `{ traces(first: ${1 + (n % 6)}) { nodes { id model totalCostUsd } } }`;
    case 'uncached':
      return '{ projects { id name } }';
    default:
      return '{ viewer { orgId role } }';
  }
};

interface Ready {
  readonly t: number;
  readonly status: number;
  readonly body: { status?: string; limits?: string; checks?: Record<string, { status: string; circuit?: { state: string } }> };
}

function pollReadiness(base: string, now: () => number): { samples: Ready[]; stop(): void } {
  const samples: Ready[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const t = now();
      await new Promise<void>((resolve) => {
        const req = http.get(`${base}/health/ready`, { agent: false, timeout: 2000 }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            try {
              samples.push({ t, status: res.statusCode ?? 0, body: JSON.parse(text) });
            } catch {
              // not JSON: ignore
            }
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.on('timeout', () => req.destroy());
      });
      await sleep(100);
    }
  })();
  return { samples, stop: () => void (stopped = true) };
}

async function main() {
  const redis = await ownRedis();
  await redis.start();
  let cluster: PrivatePostgres | undefined;
  let proxy: TcpProxy | undefined;
  let dropTestDb: (() => Promise<void>) | undefined;
  let gateway: GatewayProcess | undefined;
  let dbUrl: string;
  if (PG_MODE === 'private') {
    cluster = await startPrivatePostgres();
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE faults');
    await admin.end();
    dbUrl = cluster.url('faults');
  } else {
    const tdb = await createTestDatabase('faults');
    dropTestDb = () => tdb.drop();
    proxy = new TcpProxy(5432);
    await proxy.start();
    dbUrl = tdb.url.replace(':5432/', `:${proxy.port}/`);
  }
  const restartDatabase = async () => {
    if (cluster) {
      cluster.stop();
      await sleep(DOWN_MS);
      cluster.start();
    } else {
      await proxy!.stop();
      await sleep(DOWN_MS);
      await proxy!.start();
    }
  };

  try {
    gateway = await startGatewayProcess({
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl,
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '2',
      REDIS_URL: redis.url,
      // As in the report that led to this benchmark: key memos run out during the outage.
      AUTH_CACHE_TTL_MS: '1000',
      CACHE_WARM_ON_START: 'false',
      OTEL_SDK_DISABLED: 'true',
      RATE_LIMIT_ADMIN_PER_MINUTE: '100000000',
      RATE_LIMIT_ADMIN_BURST: '100000000',
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    const handle = await openDatabase(loadConfig({ DATABASE_URL: dbUrl, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    const { key } = await seedOps(handle.db, 3000);
    await handle.close();
    const base = gateway.url.replace(/\/graphql$/, '');
    const exited = new Promise<number>((resolve) => gateway!.child.once('exit', () => resolve(load.now())));

    const load = startKeepAliveLoad({ url: gateway.url, key, concurrency: CONCURRENCY, query: queryOf });
    const ready = pollReadiness(base, load.now);
    const marks: Array<{ phase: string; at: number; back?: number }> = [];
    const mark = (phase: string) => marks.push({ phase, at: load.now() });
    const back = () => (marks.at(-1)!.back = load.now());
    const log = (s: string) => process.stderr.write(`[${(load.now() / 1000).toFixed(1)} s] ${s}\n`);

    await sleep(WARMUP_MS); // JIT, pools and cache filling: not measured
    mark('steady');
    await sleep(STEADY_MS);

    log('PostgreSQL restart');
    mark('postgres restart');
    await restartDatabase();
    back();
    await sleep(RECOVERY_WINDOW_MS);

    log('Redis kill');
    mark('redis kill');
    await redis.stop();
    await sleep(DOWN_MS);
    await redis.start();
    back();
    await sleep(RECOVERY_WINDOW_MS);

    log('Redis hang (SIGSTOP)');
    mark('redis hang');
    redis.freeze();
    await sleep(DOWN_MS);
    redis.thaw();
    back();
    await sleep(RECOVERY_WINDOW_MS);

    log('SIGTERM');
    mark('sigterm');
    gateway.child.kill('SIGTERM');
    const exitAt = await Promise.race([exited, sleep(30_000).then(() => -1)]);
    const outcomes = await load.stop();
    ready.stop();
    log(`gateway exited (${exitAt < 0 ? 'not within 30 s' : 'ok'})`);

    const rows: PhaseRow[] = [];
    marks.forEach((m, i) => {
      const end = marks[i + 1]?.at ?? Infinity;
      const inPhase = outcomes.filter((o) => o.startMs >= m.at && o.startMs < end);
      rows.push(summarize(m.phase, inPhase, recoveryOf(m, outcomes, ready.samples, exitAt)));
    });
    const errorLines = gateway
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 50);
    const table = formatTable(rows);
    process.stdout.write(`\n${table}\n\ngateway log lines at error level: ${errorLines.length}${errorLines.length ? ` (${[...new Set(errorLines.map((l) => l.msg))].join('; ')})` : ''}\n`);
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'faults.json'),
      JSON.stringify({ at: new Date().toISOString(), concurrency: CONCURRENCY, downMs: DOWN_MS, postgres: PG_MODE, rows, errorLines, marks }, null, 2),
    );
  } finally {
    if (gateway && gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    redis.thaw();
    await redis.stop();
    cluster?.destroy();
    await proxy?.stop();
    await dropTestDb?.();
  }
}

/** Dependency back → in use again, and what the phase's note says. */
function recoveryOf(m: { phase: string; at: number; back?: number }, outcomes: readonly Outcome[], samples: readonly Ready[], exitAt: number): Pick<PhaseRow, 'recoveryMs' | 'note'> {
  if (m.phase === 'sigterm') {
    const lastAnswer = Math.max(...outcomes.filter((o) => !o.failure).map((o) => o.startMs + o.ms));
    const resets = outcomes.filter((o) => o.startMs >= m.at && o.failure === 'reset').length;
    return { note: `exit ${Math.round(exitAt - lastAnswer)} ms after the last answer (${Math.round(exitAt - m.at)} ms after SIGTERM); ${resets} reset requests; refused = new connections after the listener closed` };
  }
  if (m.back === undefined) return {};
  const firstReady = (ok: (r: Ready) => boolean) => samples.find((r) => r.t >= m.back! && ok(r));
  const down = samples.find((r) => r.t >= m.at && r.t < m.back! && (r.status !== 200 || r.body.status !== 'healthy'));
  if (m.phase === 'postgres restart') {
    const first = outcomes.filter((o) => o.startMs >= m.back! && kindOf(o.n) === 'uncached' && !o.failure && o.codes.length === 0).sort((a, b) => a.startMs + a.ms - (b.startMs + b.ms))[0];
    const ready = firstReady((r) => r.status === 200);
    return {
      recoveryMs: first ? first.startMs + first.ms - m.back : undefined,
      note: `readiness ${down ? `unhealthy ${Math.round(down.t - m.at)} ms after the stop` : 'never unhealthy'}, ready again ${ready ? Math.round(ready.t - m.back) : '?'} ms after the start; recovery = first uncached query answered`,
    };
  }
  const shared = firstReady((r) => r.body.limits === 'redis' && r.body.checks?.redis?.status === 'up');
  return {
    recoveryMs: shared ? shared.t - m.back : undefined,
    note: `readiness ${down ? `degraded ${Math.round(down.t - m.at)} ms after the fault (limits: ${down.body.limits}, circuit ${down.body.checks?.redis?.circuit?.state})` : 'never degraded'}; recovery = readiness shows limits: redis again`,
  };
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
