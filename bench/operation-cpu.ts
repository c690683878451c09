/**
 * `npx tsx bench/operation-cpu.ts`: the gateway's own CPU per request, operation by operation,
 * without the contention of a load run. The production build runs as its own process (server
 * mode, cache off unless BENCH_GATEWAY_CACHE=on, the load benchmark's environment) on a seeded
 * database (BENCH_DB, default gw_lead_300k); one client sends each operation of the scenario
 * (SCENARIO=aggregations|mixed, OPS=name,… for some) ROUNDS times (default 300) after WARMUP
 * rounds of all of them (default 100), one after another, and the gateway's user+system CPU
 * from /proc is divided by the requests. The database's time is not in it (the gateway waits
 * idle); the local PostgreSQL server's CPU over each request (all its processes, so background
 * work such as autovacuum lands in it too) is reported beside it.
 *
 * BENCH_BASELINE_DIR=<a checkout of main, built> starts that checkout's gateway too and sends
 * every request to both in turn (branch, baseline, branch, …), so that a shared machine's
 * drift falls on both alike: the ratio is the figure to read. BENCH_PROFILE=<label> runs the
 * gateway(s) under --cpu-prof and prints the top functions by self time. Builds first unless
 * BENCH_SKIP_BUILD=1 (the baseline is not built). Writes bench/results/operation-cpu-<NAME>.md|json.
 * Run under /work/tools/heavy on a shared machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { createApiKey } from '../src/auth/api-keys';
import { AGGREGATIONS, MIXED } from './support/load-scenarios';
import { benchGatewayEnv, startChild, stopChild } from './support/gateway-process';
import { cpuMicros, postgresCpuMicros } from './support/process-stats';
import { profileTable, summarizeProfileFile } from './support/cpu-profile-summary';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const KEY_NAME = 'bench-operation-cpu';
const WARMUP = Number(process.env.WARMUP ?? 100);

interface Gateway {
  label: string;
  child: ChildProcess;
  url: string;
  profileDir?: string;
}

async function main() {
  const dbName = process.env.BENCH_DB ?? 'gw_lead_300k';
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const rounds = Number(process.env.ROUNDS ?? 300);
  const scenario = process.env.SCENARIO ?? 'aggregations';
  const name = process.env.NAME ?? scenario;
  const profile = process.env.BENCH_PROFILE;
  const baselineDir = process.env.BENCH_BASELINE_DIR ? path.resolve(process.env.BENCH_BASELINE_DIR) : undefined;
  const ops = (scenario === 'mixed' ? MIXED : AGGREGATIONS).filter((o) => !o.variables && (!process.env.OPS || process.env.OPS.split(',').includes(o.name)));
  if (process.env.BENCH_SKIP_BUILD !== '1') {
    process.stderr.write('building (npm run build)…\n');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const setup = await openDatabase(loadConfig({ DATABASE_URL: databaseUrl, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const env = {
    ...benchGatewayEnv({ databaseUrl, redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', redisKeyPrefix: `bench:opcpu:${process.pid}:` }),
    CACHE_ENABLED: process.env.BENCH_GATEWAY_CACHE === 'on' ? 'true' : 'false',
  };
  const gateways: Gateway[] = [];
  const start = async (label: string, cwd: string) => {
    const profileDir = profile ? path.join(RESULTS, 'profiles', `${profile}-${label}`) : undefined;
    if (profileDir) {
      fs.rmSync(profileDir, { recursive: true, force: true });
      fs.mkdirSync(profileDir, { recursive: true });
    }
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const { child, url } = await startChild(process.execPath, [...nodeArgs, 'dist/src/main.js'], env, false, cwd);
    gateways.push({ label, child, url, profileDir });
  };
  const rows: { operation: string; requests: number; cpuMicrosPerRequest: Record<string, number>; dbCpuMicrosPerRequest: Record<string, number>; msPerRequest: Record<string, number> }[] = [];
  try {
    await start('branch', ROOT);
    if (baselineDir) await start('baseline', baselineDir);
    const org = (await setup.db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
    const { key } = await createApiKey(setup.db, { orgId: org, name: KEY_NAME, role: 'ADMIN' });
    const ask = async (g: Gateway, query: string) => {
      const res = await fetch(g.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
      const body = (await res.json()) as { errors?: unknown };
      if (res.status !== 200 || body.errors) throw new Error(`${g.label}: ${res.status} ${JSON.stringify(body.errors)}`);
    };
    // Warm-up, all operations in turn, so that the first one measured does not pay the JIT for the rest.
    for (let i = 0; i < WARMUP; i++) for (const op of ops) for (const g of gateways) await ask(g, op.query);
    for (const op of ops) {
      const cpu0 = gateways.map((g) => cpuMicros(g.child.pid!));
      const ms = gateways.map(() => 0);
      const db = gateways.map(() => 0);
      for (let i = 0; i < rounds; i++) {
        for (const [j, g] of gateways.entries()) {
          const pg0 = postgresCpuMicros();
          const t = performance.now();
          await ask(g, op.query);
          ms[j]! += performance.now() - t;
          db[j]! += postgresCpuMicros() - pg0;
        }
      }
      rows.push({
        operation: op.name,
        requests: rounds,
        cpuMicrosPerRequest: Object.fromEntries(gateways.map((g, j) => [g.label, Math.round((cpuMicros(g.child.pid!) - cpu0[j]!) / rounds)])),
        dbCpuMicrosPerRequest: Object.fromEntries(gateways.map((g, j) => [g.label, Math.round(db[j]! / rounds)])),
        msPerRequest: Object.fromEntries(gateways.map((g, j) => [g.label, Math.round((ms[j]! / rounds) * 100) / 100])),
      });
      process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
  } finally {
    await setup.db.deleteFrom('api_keys').where('name', '=', KEY_NAME).execute();
    await setup.close();
    for (const g of gateways) await stopChild(g.child);
  }
  const labels = gateways.map((g) => g.label);
  const meanOf = (k: 'cpuMicrosPerRequest' | 'dbCpuMicrosPerRequest') => Object.fromEntries(labels.map((l) => [l, Math.round(rows.reduce((a, r) => a + r[k][l]!, 0) / rows.length)]));
  const mean = meanOf('cpuMicrosPerRequest');
  const dbMean = meanOf('dbCpuMicrosPerRequest');
  const ratio = (r: Record<string, number>) => (baselineDir ? ` ${(r.baseline! / r.branch!).toFixed(2)}× |` : '');
  const lines = [
    `${dbName}, one client, ${rounds} requests per operation${baselineDir ? ' to each gateway in turn' : ''} after ${WARMUP} warm-up rounds of all operations, cache ${env.CACHE_ENABLED === 'true' ? 'on' : 'off'}; gateway process CPU (user+system, /proc).${baselineDir ? ` Baseline: ${baselineDir}.` : ''}`,
    '',
    `| operation | ${labels.map((l) => `${l} CPU µs/request`).join(' | ')} |${baselineDir ? ' baseline/branch |' : ''} ${labels.map((l) => `${l} DB CPU µs/request`).join(' | ')} |${baselineDir ? ' baseline/branch |' : ''} ${labels.map((l) => `${l} request ms`).join(' | ')} |`,
    `|---|${labels.map(() => '---|').join('')}${baselineDir ? '---|' : ''}${labels.map(() => '---|').join('')}${baselineDir ? '---|' : ''}${labels.map(() => '---|').join('')}`,
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${labels.map((l) => r.cpuMicrosPerRequest[l]).join(' | ')} |${ratio(r.cpuMicrosPerRequest)} ${labels.map((l) => r.dbCpuMicrosPerRequest[l]).join(' | ')} |${ratio(r.dbCpuMicrosPerRequest)} ${labels.map((l) => r.msPerRequest[l]).join(' | ')} |`,
    ),
    `| mean of the operations | ${labels.map((l) => mean[l]).join(' | ')} |${ratio(mean)} ${labels.map((l) => dbMean[l]).join(' | ')} |${ratio(dbMean)}${labels.map(() => ' |').join('')}`,
  ];
  for (const g of gateways) {
    const file = g.profileDir && fs.readdirSync(g.profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) lines.push('', `CPU profile (${profile}, ${g.label}), whole process, top functions by self time:`, '', profileTable(summarizeProfileFile(path.join(g.profileDir!, file), 30)));
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `operation-cpu-${name}.md`), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(RESULTS, `operation-cpu-${name}.json`), JSON.stringify({ database: dbName, rounds, warmup: WARMUP, cache: env.CACHE_ENABLED, baselineDir, rows, mean, dbMean }, null, 2));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
