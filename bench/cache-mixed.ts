/**
 * `npm run bench:cache`: a mixed dashboard workload against three servers in one run:
 *
 *   (a) the gateway with the per-field cache in Redis,
 *   (b) the same gateway with the cache off,
 *   (c) the same schema and resolvers on a plain Apollo Server with the official whole-response
 *       cache plugin (@apollo/server-plugin-response-cache) over the same Redis-less in-memory
 *       cache Apollo ships, keyed per org + role + scope so that it cannot leak across tenants.
 *
 * Many viewers (API keys) across several orgs refresh the same ~20 panels, choosing among them
 * with a Zipf distribution. Bounded: BENCH_REQUESTS per variant (3000) at BENCH_CONCURRENCY
 * (16), 127.0.0.1 only, every variant starting from an empty cache. Reports field hit rate,
 * response hit rate, RPS, p50/p95/p99 and database statements per request, and ratios to (b).
 *
 *   BENCH_TRACES=200000 BENCH_REQUESTS=3000 npm run bench:cache
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import { createClient } from '@redis/client';
import { loadConfig } from '../src/config';
import { startGateway, type RunningGateway } from '../src/app';
import { openDatabase, type DatabaseHandle } from '../src/db/database';
import { createApiKey } from '../src/auth/api-keys';
import { Authenticator } from '../src/auth/authenticator';
import { createRequestContext, type AppServices, type RequestContext } from '../src/context';
import { loadTypeDefs, resolvers } from '../src/schema';
import { scopeKeyOf } from '../src/cache/cache-key';
import { ensureSeededDatabase } from './support/seeded-database';

const TRACES = Number(process.env.BENCH_TRACES ?? 200_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ZIPF_S = Number(process.env.BENCH_ZIPF_S ?? 1.1);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:cache:${process.pid}:`;

const ensureDatabase = () => ensureSeededDatabase({ traces: TRACES, days: DAYS });

/** ~20 dashboard panels; relative ranges, as dashboards send them. */
const PANELS: string[] = [
  `{ performance(range: {last: "24h"}, groupBy: [MODEL], interval: HOUR) { totals { requestCount errorRate latency { p95Ms } } groups { key { model } stats { requestCount latency { p95Ms } } } } }`,
  `{ costs(range: {last: "24h"}, groupBy: [PROVIDER]) { totals { totalUsd requestCount } groups { key { provider } stats { totalUsd } } } }`,
  `{ traces(first: 20) { nodes { id model durationMs totalCostUsd status } } }`,
  `{ performance(range: {last: "1h"}) { totals { requestCount errorCount latency { p50Ms p95Ms p99Ms } } } }`,
  `{ costs(range: {last: "7d"}, interval: DAY) { totals { totalUsd } series { timestamp stats { totalUsd } } } }`,
  `{ performance(range: {last: "24h"}) { totals { requestCount } } costs(range: {last: "24h"}) { totals { totalUsd } } }`,
  `{ traces(first: 10, filter: {status: ERROR}) { nodes { id model errorType } } }`,
  `{ quality(range: {last: "7d"}) { traceCount scores { name count mean } } }`,
  `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "gemini-1.5-pro"], range: {last: "7d"}) { models { model requestCount errorRate latency { p95Ms } costPerRequestUsd } } }`,
  `{ performance(range: {last: "6h"}, groupBy: [PROVIDER], interval: FIFTEEN_MINUTES) { series { timestamp stats { requestCount } } } }`,
  `{ costs(range: {last: "30d"}, groupBy: [MODEL], groupLimit: 10) { groups { key { model } stats { totalUsd requestCount } } } }`,
  `{ traces(first: 20, orderBy: {field: COST}) { nodes { id model totalCostUsd } } }`,
  `{ performance(range: {last: "7d"}, groupBy: [ENVIRONMENT]) { groups { key { environment } stats { requestCount errorRate } } } }`,
  `{ costs(range: {last: "24h"}) { totals { totalUsd } topSpenders(by: USER, limit: 5) { key { userId } stats { totalUsd } } } }`,
  `{ traces(first: 20, orderBy: {field: DURATION}) { nodes { id model durationMs } } }`,
  `{ quality(range: {last: "24h"}, groupBy: [MODEL]) { scores { name count mean groups { key { model } mean } } } }`,
  `{ performance(range: {last: "30d"}, interval: DAY) { series { timestamp stats { requestCount errorCount } } } }`,
  `{ compareModels(models: ["gpt-4o-mini", "claude-haiku-3.5"], range: {last: "24h"}) { models { model requestCount latency { p50Ms } } } }`,
  `{ costs(range: {last: "7d"}, groupBy: [PROJECT]) { groups { key { projectId } stats { totalUsd } } previousPeriod { totalUsd } } }`,
  `{ traces(first: 50, filter: {last: "1h"}) { totalCount nodes { id } } }`,
];

function zipfSampler(n: number, s: number, seed: number) {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  weights.reduce((acc, w, i) => ((cdf[i] = (acc + w) / total), acc + w), 0);
  let x = seed >>> 0;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296);
  return { pick: () => cdf.findIndex((c) => rand() <= c), rand };
}

interface Variant {
  name: string;
  url: string;
  database: DatabaseHandle;
  stop(): Promise<void>;
}

/** (c): the same schema and resolvers on a plain Apollo Server with the official response cache. */
async function startResponseCacheServer(url: string): Promise<Variant & { hits: () => number }> {
  const config = loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', NODE_ENV: 'production', LOG_LEVEL: 'silent', RATE_LIMIT_ENABLED: 'false' });
  const database = await openDatabase(config);
  const services: AppServices = { config, database, logger: pino({ level: 'silent' }) };
  const authenticator = new Authenticator(database.readDb, database.db);
  let hits = 0;
  const countHits: ApolloServerPlugin<RequestContext> = {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          if (rc.metrics.responseCacheHit) hits++;
        },
      };
    },
  };
  const apollo = new ApolloServer<RequestContext>({
    typeDefs: loadTypeDefs(),
    resolvers: resolvers as never,
    plugins: [
      // Nested object fields have no hints; without a default they would make every response
      // uncacheable (maxAge 0). Root fields' @cacheControl then decide, as in the gateway.
      ApolloServerPluginCacheControl({ defaultMaxAge: 3600 }),
      responseCachePlugin({
        // Whole responses are per tenant: key them like the per-field cache does (org, role,
        // project scope). Without this, PUBLIC hints would share one org's answer with all.
        extraCacheKeyData: async (rc) => `${rc.contextValue.viewer.orgId}:${rc.contextValue.viewer.role}:${scopeKeyOf(rc.contextValue.viewer.projectIds)}`,
      }),
      countHits,
    ],
  });
  await apollo.start();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body: JSON.parse(Buffer.concat(chunks).toString() || '{}') },
      context: async () => {
        const viewer = await authenticator.authenticate({ authorization: req.headers.authorization });
        if (!viewer) throw new Error('unauthenticated');
        return createRequestContext(services, viewer, 'bench');
      },
    });
    res.writeHead(result.status ?? 200, Object.fromEntries(result.headers));
    res.end(result.body.kind === 'complete' ? result.body.string : '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    name: 'c) Apollo + response-cache plugin',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    database,
    hits: () => hits,
    async stop() {
      await new Promise((r) => server.close(r));
      await apollo.stop();
      await database.close();
    },
  };
}

async function startVariant(url: string, cache: boolean): Promise<Variant & { gw: RunningGateway }> {
  const config = loadConfig({
    DATABASE_URL: url,
    DATABASE_MODE: 'postgres',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    RATE_LIMIT_ENABLED: 'false',
    CACHE_ENABLED: String(cache),
    CACHE_WARM_ON_START: 'false',
    // (c) has no tracing, access log or metrics; compare caches, not telemetry.
    OTEL_SDK_DISABLED: 'true',
    ACCESS_LOG_LEVEL: 'silent',
    REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
  });
  const gw = await startGateway(config, pino({ level: 'silent' }));
  return { name: cache ? 'a) gateway, per-field cache' : 'b) gateway, cache off', url: gw.url, database: gw.services.database, gw, stop: () => gw.stop() };
}

interface Result {
  variant: string;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  dbStatementsPerRequest: number;
  fieldHitRate?: number;
  responseHitRate?: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;

async function drive(v: Variant, keys: string[], debug: boolean): Promise<Result & { fieldHits: number; fields: number; fullHits: number }> {
  const zipf = zipfSampler(PANELS.length, ZIPF_S, 7);
  const plan = Array.from({ length: REQUESTS }, () => ({ panel: PANELS[zipf.pick()]!, key: keys[Math.floor(zipf.rand() * keys.length)]! }));
  let statements = 0;
  const off = v.database.addQueryListener(() => statements++);
  const latencies: number[] = [];
  let errors = 0;
  let fieldHits = 0;
  let fields = 0;
  let fullHits = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < plan.length) {
        const { panel, key } = plan[next++]!;
        const t = performance.now();
        const res = await fetch(v.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(debug ? { 'x-cache-debug': '1' } : {}) },
          body: JSON.stringify({ query: panel }),
        });
        const body = (await res.json()) as { errors?: unknown[]; extensions?: { cache?: Record<string, { hit: boolean }> } };
        latencies.push(performance.now() - t);
        if (res.status !== 200 || body.errors) errors++;
        const c = Object.values(body.extensions?.cache ?? {});
        fields += c.length;
        fieldHits += c.filter((x) => x.hit).length;
        if (c.length && c.every((x) => x.hit)) fullHits++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  off();
  latencies.sort((a, b) => a - b);
  return {
    variant: v.name,
    requests: REQUESTS,
    errors,
    seconds: round(seconds),
    rps: round(REQUESTS / seconds),
    p50: round(pct(latencies, 0.5)),
    p95: round(pct(latencies, 0.95)),
    p99: round(pct(latencies, 0.99)),
    dbStatementsPerRequest: round(statements / REQUESTS, 3),
    fieldHits,
    fields,
    fullHits,
  };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function main() {
  const url = await ensureDatabase();
  const setup = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const orgs = (await setup.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((o) => o.id);
  const keys: string[] = [];
  // Many viewers per org: two VIEWERs, a DEVELOPER and an ADMIN each (same org+role share entries).
  for (const org of orgs) for (const role of ['VIEWER', 'VIEWER', 'DEVELOPER', 'ADMIN'] as const) keys.push((await createApiKey(setup.db, { orgId: org, name: 'bench-cache', role })).key);
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  const results: Result[] = [];
  try {
    const order = (process.env.BENCH_VARIANTS ?? 'abc').split('') as Array<'a' | 'b' | 'c'>;
    for (const which of order) {
      const v = which === 'c' ? await startResponseCacheServer(url) : await startVariant(url, which === 'a');
      // One untimed request per panel and key warms connections and JIT, not the caches.
      const r = await drive(v, keys, which === 'a');
      const out: Result = { ...r };
      if (which === 'a') {
        out.fieldHitRate = round(r.fieldHits / r.fields, 3);
        out.responseHitRate = round(r.fullHits / REQUESTS, 3);
      }
      if (which === 'c') out.responseHitRate = round((v as Awaited<ReturnType<typeof startResponseCacheServer>>).hits() / REQUESTS, 3);
      delete (out as Partial<typeof r>).fieldHits;
      delete (out as Partial<typeof r>).fields;
      delete (out as Partial<typeof r>).fullHits;
      results.push(out);
      await v.stop();
      process.stderr.write(`${out.variant}: ${JSON.stringify(out)}\n`);
    }
  } finally {
    for await (const batch of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 }) as AsyncIterable<string[] | string>) {
      const ks = Array.isArray(batch) ? batch : [batch];
      if (ks.length) await redis.unlink(ks);
    }
    await redis.quit();
    await setup.db.deleteFrom('api_keys').where('name', '=', 'bench-cache').execute();
    await setup.close();
  }
  const base = results.find((r) => r.variant.startsWith('b)')) ?? results[0]!;
  console.log(`\n${TRACES} traces over ${DAYS} days, ${orgs.length} orgs, ${keys.length} viewers, ${PANELS.length} panels (Zipf s=${ZIPF_S}), ${REQUESTS} requests per variant, concurrency ${CONCURRENCY}\n`);
  console.log('| variant | field hit rate | response hit rate | RPS | p50 ms | p95 ms | p99 ms | DB statements/request | errors | RPS vs b | p95 vs b | DB vs b |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.variant} | ${r.fieldHitRate ?? '—'} | ${r.responseHitRate ?? '—'} | ${r.rps} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.dbStatementsPerRequest} | ${r.errors} | ${round(r.rps / base.rps, 2)}× | ${round(r.p95 / base.p95, 2)}× | ${round(r.dbStatementsPerRequest / base.dbStatementsPerRequest, 3)}× |`,
    );
  }
  const out = path.join(__dirname, 'results', 'cache-mixed.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ traces: TRACES, days: DAYS, requests: REQUESTS, concurrency: CONCURRENCY, zipfS: ZIPF_S, panels: PANELS.length, viewers: keys.length, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
