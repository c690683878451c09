/**
 * `npm run bench:limits`: what authentication + document limits + pricing + the Redis budget
 * check cost per request, as gateway throughput with RATE_LIMIT_ENABLED on vs off, in the same
 * run, on the same query and data. Two gateways share one PostgreSQL database and the local
 * Redis; rounds alternate between them so that drift hits both. Bounded: a fixed number of
 * requests, 127.0.0.1 only. (Authentication runs in both: without it there is no viewer.)
 *
 *   BENCH_REQUESTS=3000 BENCH_CONCURRENCY=16 npm run bench:limits
 */
import pg from 'pg';
import pino from 'pino';
import { createClient } from '@redis/client';
import { loadConfig } from '../src/config';
import { startGateway, type RunningGateway } from '../src/app';
import { createApiKey } from '../src/auth/api-keys';
import { seedDatabase } from '../db/seed/loader';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:limits:${process.pid}:`;
const QUERY = '{ viewer { role } traces(first: 20) { nodes { id model totalCostUsd durationMs } pageInfo { hasNextPage } } }';

async function drive(url: string, key: string, n: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const body = JSON.stringify({ query: QUERY });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) {
        const t = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 100) / 100;
  return { rps: n / seconds, p50: q(0.5), p99: q(0.99), errors };
}

async function main() {
  const dbName = `gw_bench_limits_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const logger = pino({ level: 'silent' });
  const env = (enabled: boolean) =>
    loadConfig({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ACCESS_LOG_LEVEL: 'silent',
      OTEL_SDK_DISABLED: 'true',
      DATABASE_URL: url.toString(),
      DATABASE_MODE: 'postgres',
      ROLLUP_REFRESH_INTERVAL_MS: '0',
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      RATE_LIMIT_ENABLED: String(enabled),
      // Large enough never to refuse: every request still runs the full check-and-take and refund.
      RATE_LIMIT_ADMIN_PER_MINUTE: '1000000000',
      RATE_LIMIT_ADMIN_BURST: '1000000000',
    });
  let on: RunningGateway | undefined;
  let off: RunningGateway | undefined;
  try {
    on = await startGateway(env(true), logger);
    off = await startGateway(env(false), logger);
    await seedDatabase(on.services.database, { traces: 5000, days: 2, orgs: 1, seed: 3, endAt: new Date() });
    const org = (await on.services.database.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow()).id;
    const key = (await createApiKey(on.services.database.db, { orgId: org, name: 'bench', role: 'ADMIN' })).key;
    // Warm both (JIT, pools, caches).
    await drive(on.url, key, 300);
    await drive(off.url, key, 300);
    const results = { on: [] as Awaited<ReturnType<typeof drive>>[], off: [] as Awaited<ReturnType<typeof drive>>[] };
    // Alternate which goes first: the machine's background load drifts during a run.
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        results.off.push(await drive(off.url, key, REQUESTS));
        results.on.push(await drive(on.url, key, REQUESTS));
      } else {
        results.on.push(await drive(on.url, key, REQUESTS));
        results.off.push(await drive(off.url, key, REQUESTS));
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rpsOn = mean(results.on.map((r) => r.rps));
    const rpsOff = mean(results.off.map((r) => r.rps));
    const ratios = results.on.map((r, i) => r.rps / results.off[i]!.rps).sort((a, b) => a - b);
    const loss = (1 - ratios[Math.floor(ratios.length / 2)]!) * 100;
    console.log(`per-round on/off throughput ratios: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
    console.log(`query: ${QUERY}`);
    console.log(`${ROUNDS} rounds × ${REQUESTS} requests, concurrency ${CONCURRENCY}, limits in Redis`);
    console.table({
      'limits off': { rps: Math.round(rpsOff), p50ms: mean(results.off.map((r) => r.p50)).toFixed(2), p99ms: mean(results.off.map((r) => r.p99)).toFixed(2), errors: results.off.reduce((a, r) => a + r.errors, 0) },
      'limits on': { rps: Math.round(rpsOn), p50ms: mean(results.on.map((r) => r.p50)).toFixed(2), p99ms: mean(results.on.map((r) => r.p99)).toFixed(2), errors: results.on.reduce((a, r) => a + r.errors, 0) },
    });
    console.log(`throughput loss with limits on (median round): ${loss.toFixed(1)}%; of the means: ${((1 - rpsOn / rpsOff) * 100).toFixed(1)}% (target < 10%)`);
  } finally {
    await on?.stop();
    await off?.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    const c = createClient({ url: REDIS_URL });
    await c.connect();
    for await (const batch of c.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) if (batch.length) await c.del(batch);
    await c.quit();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
