/**
 * `npx tsx bench/explain-slowest.ts`: the gateway in-process on a seeded benchmark database
 * (BENCH_DB, default gw_bench_<BENCH_TRACES>), the aggregation questions of bench/queries.ts
 * whose fields/ranges are given (EXPLAIN_CASES, e.g. "performance:24h,quality:30d"), each
 * statement's time recorded; the EXPLAIN_TOP slowest statements are re-run under
 * EXPLAIN (ANALYZE, BUFFERS) and written to bench/results/explain-<name>.txt. Ranges end at the
 * data's last trace, as in bench/queries.ts. Run under /work/tools/heavy on a shared machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { loadConfig } from '../src/config';
import { startGateway } from '../src/app';
import { createApiKey } from '../src/auth/api-keys';

const RANGE_MS: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000 };
const GROUPS = ['', 'groupBy: [MODEL]', 'groupBy: [PROVIDER, ENVIRONMENT]', 'groupBy: [PROJECT]', 'groupBy: [USER], groupLimit: 10'];
const Q: Record<string, (i: number, r: string) => string> = {
  performance: (i, r) => `{ performance(range: ${r}, ${GROUPS[i % 5]}, interval: AUTO) { totals { requestCount errorRate latency { p50Ms p95Ms p99Ms } ttftAvgMs } groups { stats { requestCount latency { p95Ms } } } series { stats { requestCount } } } }`,
  costs: (i, r) => `{ costs(range: ${r}, ${GROUPS[i % 5]}, interval: AUTO) { totals { totalUsd promptUsd completionUsd } groups { stats { totalUsd } } series { stats { totalUsd } } ${i % 2 ? 'topSpenders(by: USER, limit: 5) { key { userId } stats { totalUsd } }' : ''} } }`,
  quality: (i, r) => `{ quality(range: ${r}${i % 2 ? ', groupBy: [MODEL]' : ''}) { traceCount tracesWithScores feedbackShare scores { name mean count${i % 4 === 3 ? ' bins { count } labels { label count }' : ''} } } }`,
  compareModels: (_i, r) => `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "gemini-2.0-flash"], range: ${r}) { models { model requestCount latency { p95Ms } costPerRequestUsd quality { name mean } } } }`,
  projects: (_i, r) => `{ projects { id name stats(range: ${r}) { requestCount totalCostUsd p95LatencyMs } } }`,
};

async function main() {
  const db = process.env.BENCH_DB ?? `gw_bench_${process.env.BENCH_TRACES ?? 1_000_000}`;
  const url = `postgres://postgres@127.0.0.1:5432/${db}`;
  const cases = (process.env.EXPLAIN_CASES ?? 'performance:24h,performance:90d,quality:7d,quality:90d,costs:30d,costs:90d').split(',');
  const top = Number(process.env.EXPLAIN_TOP ?? 8);
  const name = process.env.EXPLAIN_NAME ?? 'slowest';
  const g = await startGateway(
    loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', PORT: String(process.env.PORT ?? 41901), HOST: '127.0.0.1', NODE_ENV: 'production',
      ROLLUP_REFRESH_INTERVAL_MS: '0', CACHE_ENABLED: 'false', CACHE_WARM_ON_START: 'false', RATE_LIMIT_ENABLED: 'false', OTEL_SDK_DISABLED: 'true',
      STATEMENT_TIMEOUT_AGGREGATE_MS: '300000', DEMO_DATA: 'false' }),
    pino({ level: 'warn' }),
  );
  const h = g.services.database;
  const org = (await h.db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
  const { key } = await createApiKey(h.db, { orgId: org, name: 'bench-explain', role: 'ADMIN' });
  const maxTs = (await sql<{ t: Date }>`SELECT max(ts) AS t FROM traces`.execute(h.db)).rows[0]!.t;
  const end = Math.floor(new Date(maxTs).getTime() / 60_000) * 60_000 + 60_000;
  const seen: { label: string; ms: number; sql: string; params: readonly unknown[] }[] = [];
  let label = '';
  const off = h.addQueryListener((e) => {
    if (e.level === 'query') seen.push({ label, ms: e.queryDurationMillis, sql: e.query.sql, params: e.query.parameters });
  });
  const out: string[] = [];
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const c of cases) {
      const [field, r] = c.split(':') as [string, string];
      const range = `{from: "${new Date(end - RANGE_MS[r]!).toISOString()}", to: "${new Date(end).toISOString()}"}`;
      for (let i = 0; i < 5; i++) {
        label = `${field} ${r} variant ${i}`;
        const t = performance.now();
        const res = await fetch(g.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query: Q[field]!(i, range) }) });
        const body = (await res.json()) as { errors?: unknown };
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        out.push(`${label}: ${(performance.now() - t).toFixed(0)} ms`);
      }
    }
    off();
    const slow = seen.filter((s) => /\/\* \w+/.test(s.sql)).sort((a, b) => b.ms - a.ms).slice(0, top);
    out.push('', `slowest ${top} statements:`);
    for (const s of slow) {
      const tag = /\/\* ([^*]+) \*\//.exec(s.sql)?.[1];
      out.push(`  ${s.ms.toFixed(0)} ms  ${tag}  (${s.label})`);
    }
    for (const s of slow) {
      const tag = /\/\* ([^*]+) \*\//.exec(s.sql)?.[1];
      const res = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.params as unknown[]);
      const plan = res.rows.map((x) => x['QUERY PLAN']).join('\n');
      out.push('', `=== ${s.ms.toFixed(0)} ms ${tag} (${s.label})`, plan);
    }
  } finally {
    await h.db.deleteFrom('api_keys').where('name', '=', 'bench-explain').execute();
    await g.stop();
    await client.end();
  }
  const file = path.join(__dirname, 'results', `explain-${name}.txt`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, out.join('\n') + '\n');
  process.stdout.write(out.slice(0, cases.length * 5 + top + 2).join('\n') + `\n(plans in ${file})\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
