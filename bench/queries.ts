/**
 * `npm run bench:queries`: every root field over 1,000,000 seeded traces (30 days) in the local
 * PostgreSQL, through real HTTP, p50/p95/p99 over repeated runs with varied arguments; the
 * aggregations also once more with rollups switched off, so raw vs rollup is a ratio measured
 * in the same run. Bounded: a fixed number of requests per field, 127.0.0.1 only.
 *
 *   BENCH_TRACES=1000000 BENCH_RUNS=40 npm run bench:queries
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { startGateway, type RunningGateway } from '../src/app';
import { createApiKey } from '../src/auth/api-keys';
import { ensureSeededDatabase } from './support/seeded-database';

const TRACES = Number(process.env.BENCH_TRACES ?? 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);

const ensureDatabase = () => ensureSeededDatabase({ traces: TRACES, days: DAYS });

async function start(url: string, useRollups: boolean): Promise<RunningGateway> {
  const config = loadConfig({
    DATABASE_URL: url,
    DATABASE_MODE: 'postgres',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    ANALYTICS_USE_ROLLUPS: String(useRollups),
    STATEMENT_TIMEOUT_AGGREGATE_MS: '120000',
    // Measure the queries themselves: no per-field cache, no budgets in the way.
    CACHE_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
  });
  return startGateway(config, pino({ level: 'silent' }));
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

type Case = { field: string; aggregation: boolean; queries: (i: number, ctx: { traceId: string; sessionId: string }) => string };

const RANGES = ['"1h"', '"24h"', '"7d"', '"30d"'];
const GROUPS = ['', 'groupBy: [MODEL]', 'groupBy: [PROVIDER, ENVIRONMENT]', 'groupBy: [PROJECT]'];
const CASES: Case[] = [
  { field: 'traces', aggregation: false, queries: (i) => `{ traces(first: ${[20, 50, 100][i % 3]}, filter: {last: ${RANGES[i % 4]}}) { nodes { id model totalCostUsd durationMs } pageInfo { endCursor } } }` },
  { field: 'traces (filtered, by cost)', aggregation: false, queries: (i) => `{ traces(first: 50, filter: {last: "7d", models: ["gpt-4o"], status: ${i % 2 ? 'OK' : 'ERROR'}}, orderBy: {field: COST}) { nodes { id totalCostUsd } } }` },
  { field: 'trace', aggregation: false, queries: (_i, c) => `{ trace(id: "${c.traceId}") { id model input output project { name } scores { name value } session { traceCount } related { id } } }` },
  { field: 'searchTraces', aggregation: false, queries: (i) => `{ searchTraces(query: "${['quarterly report', 'invoice', 'gpt-4o-mini', 'kubernetes'][i % 4]}", first: 20, filter: {last: "7d"}) { nodes { id } } }` },
  { field: 'sessions', aggregation: false, queries: () => `{ sessions(first: 20) { nodes { id traceCount totalCostUsd } } }` },
  { field: 'projects', aggregation: true, queries: (i) => `{ projects { id name stats(range: {last: ${RANGES[i % 4]}}) { requestCount totalCostUsd p95LatencyMs } } }` },
  { field: 'performance', aggregation: true, queries: (i) => `{ performance(range: {last: ${RANGES[i % 4]}}, ${GROUPS[i % 4]}, interval: AUTO) { totals { requestCount errorRate latency { p50Ms p95Ms p99Ms } ttftAvgMs } groups { stats { requestCount latency { p95Ms } } } series { stats { requestCount } } } }` },
  { field: 'costs', aggregation: true, queries: (i) => `{ costs(range: {last: ${RANGES[i % 4]}}, ${GROUPS[i % 4]}, interval: AUTO) { totals { totalUsd promptUsd completionUsd } groups { stats { totalUsd } } series { stats { totalUsd } } previousPeriod { totalUsd } } }` },
  { field: 'quality', aggregation: true, queries: (i) => `{ quality(range: {last: ${RANGES[i % 4]}}, groupBy: [MODEL]) { traceCount feedbackShare scores { name mean count } } }` },
  { field: 'compareModels', aggregation: true, queries: (i) => `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "gemini-2.0-flash"], range: {last: ${RANGES[i % 4]}}) { models { model requestCount latency { p95Ms } costPerRequestUsd quality { name mean } } } }` },
];

async function measure(gw: RunningGateway, key: string, c: Case, ctx: { traceId: string; sessionId: string }) {
  const times: number[] = [];
  await timeQuery(gw.url, key, c.queries(0, ctx)); // warm-up
  for (let i = 0; i < RUNS; i++) times.push(await timeQuery(gw.url, key, c.queries(i, ctx)));
  times.sort((a, b) => a - b);
  return { p50: pct(times, 0.5), p95: pct(times, 0.95), p99: pct(times, 0.99) };
}

async function main() {
  const url = await ensureDatabase();
  const withRollups = await start(url, true);
  const rawOnly = await start(url, false);
  const db = withRollups.services.database.db;
  const org = (await db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
  const { key } = await createApiKey(db, { orgId: org, name: 'bench', role: 'ADMIN' });
  const sample = await db.selectFrom('traces').select(['id', 'session_id']).where('org_id', '=', org).where('session_id', 'is not', null).orderBy('ts', 'desc').limit(1).executeTakeFirstOrThrow();
  const ctx = { traceId: sample.id, sessionId: sample.session_id as string };
  const rows: Record<string, unknown>[] = [];
  const f = (n: number) => n.toFixed(1).padStart(8);
  process.stdout.write(`\n${TRACES} traces over ${DAYS} days, ${RUNS} runs per field (ms)\n`);
  process.stdout.write(`${'field'.padEnd(28)}${'p50'.padStart(8)}${'p95'.padStart(8)}${'p99'.padStart(8)}   raw p50  raw p99  raw/rollup p50\n`);
  for (const c of CASES) {
    const r = await measure(withRollups, key, c, ctx);
    const raw = c.aggregation ? await measure(rawOnly, key, c, ctx) : null;
    rows.push({ field: c.field, ...r, raw });
    process.stdout.write(
      `${c.field.padEnd(28)}${f(r.p50)}${f(r.p95)}${f(r.p99)}` +
        (raw ? ` ${f(raw.p50)} ${f(raw.p99)}   ${(raw.p50 / r.p50).toFixed(1).padStart(6)}x` : '') +
        '\n',
    );
  }
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'queries.json'), JSON.stringify({ traces: TRACES, days: DAYS, runs: RUNS, at: new Date().toISOString(), rows }, null, 2));
  await withRollups.stop();
  await rawOnly.stop();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
