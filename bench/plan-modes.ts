/**
 * `npx tsx bench/plan-modes.ts`: what keeping a prepared report statement's plan
 * (`DB_PREPARED_PLAN_CACHE_MODE=force_generic_plan`, src/db/read-batch.ts) changes, statement by
 * statement, on a seeded database (BENCH_DB, default gw_bench_300000). The local PostgreSQL logs
 * every statement of BENCH_DB (`log_min_duration_statement = 0`, reset afterwards) while
 * `bench/operation-cpu.ts` has the production build (cache off) answer the scenario
 * (SCENARIO=aggregations|mixed, OPS=name,…) a few rounds; the prepared (`gw_…`) statements and
 * their last values are read back from the server's log (BENCH_PG_LOG, Debian's default path).
 * Each is then executed on two connections, one under `force_generic_plan`, one under
 * `force_custom_plan` (a plan per execution, what `auto` did for these), alternating, EXECUTIONS
 * times (default 12; the first two left out), and the medians compared; last, the backend memory
 * the statements hold after three executions each, under `auto` and under `force_generic_plan`
 * (`pg_backend_memory_contexts`). The read batches' settings are applied as the gateway applies
 * them (statement timeout, parallel append off). Writes bench/results/plan-modes-<NAME>.md|json.
 * Builds first unless BENCH_SKIP_BUILD=1. Run under /work/tools/heavy on a shared machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const DB = process.env.BENCH_DB ?? 'gw_bench_300000';
const LOG = process.env.BENCH_PG_LOG ?? '/var/log/postgresql/postgresql-15-main.log';
const EXECUTIONS = Number(process.env.EXECUTIONS ?? 12);
const NAME = process.env.NAME ?? DB;
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres' };

interface Logged {
  readonly name: string;
  readonly sql: string;
  readonly values: string[];
}

/** The prepared statements of a stretch of the server's log, each with the values of its last execution. */
export function preparedFromLog(text: string): Logged[] {
  const entries = text.split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/);
  const byName = new Map<string, Logged>();
  entries.forEach((e, i) => {
    const m = /duration: [\d.]+ ms {2}execute (gw_[0-9a-f]{40}): ([\s\S]*)/.exec(e);
    if (!m) return;
    const detail = entries[i + 1]?.includes('DETAIL:  parameters:') ? entries[i + 1]!.split('parameters: ')[1]! : '';
    const values = [...detail.matchAll(/\$\d+ = '((?:[^']|'')*)'/g)].map((v) => v[1]!.replace(/''/g, "'"));
    byName.set(m[1]!, { name: m[1]!, sql: m[2]!.trim(), values });
  });
  return [...byName.values()];
}

const median = (xs: number[]) => {
  const s = xs.slice(2).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function connect(mode: string): Promise<pg.Client> {
  const c = new pg.Client({ ...ADMIN, database: DB });
  await c.connect();
  await c.query(`SET plan_cache_mode = ${mode}`);
  await c.query(`SET statement_timeout = 30000`);
  await c.query(`SET enable_parallel_append = off`);
  return c;
}

async function main() {
  if (process.env.BENCH_SKIP_BUILD !== '1') execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const admin = new pg.Client({ ...ADMIN, database: 'postgres' });
  await admin.connect();
  const from = fs.statSync(LOG).size;
  await admin.query(`ALTER DATABASE ${DB} SET log_min_duration_statement = 0`);
  try {
    execFileSync('npx', ['tsx', 'bench/operation-cpu.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, BENCH_DB: DB, BENCH_SKIP_BUILD: '1', ROUNDS: '3', WARMUP: '2', NAME: `plan-modes-capture`, BENCH_PROFILE: '' },
    });
  } finally {
    await admin.query(`ALTER DATABASE ${DB} RESET log_min_duration_statement`);
    await admin.end();
  }
  const fd = fs.openSync(LOG, 'r');
  const buf = Buffer.alloc(fs.statSync(LOG).size - from);
  fs.readSync(fd, buf, 0, buf.length, from);
  fs.closeSync(fd);
  const statements = preparedFromLog(buf.toString('utf8'));
  if (!statements.length) throw new Error(`no prepared statements in ${LOG} (is that the server's log?)`);

  const generic = await connect('force_generic_plan');
  const custom = await connect('force_custom_plan');
  const rows: { statement: string; genericMs: number; customMs: number }[] = [];
  try {
    for (const s of statements) {
      const t = { g: [] as number[], c: [] as number[] };
      for (let i = 0; i < EXECUTIONS; i++) {
        for (const [k, c] of [['g', generic], ['c', custom]] as const) {
          const t0 = performance.now();
          await c.query({ name: s.name, text: s.sql, values: s.values });
          t[k].push(performance.now() - t0);
        }
      }
      rows.push({ statement: /\/\* ([\w:+]+)/.exec(s.sql)?.[1] ?? s.name, genericMs: median(t.g), customMs: median(t.c) });
    }
  } finally {
    await generic.end();
    await custom.end();
  }
  const memory: Record<string, number> = {};
  for (const mode of ['auto', 'force_generic_plan']) {
    const c = await connect(mode);
    const held = async () => Number((await c.query<{ b: string }>(`SELECT sum(total_bytes) AS b FROM pg_backend_memory_contexts`)).rows[0]!.b);
    const before = await held();
    for (const s of statements) for (let i = 0; i < 3; i++) await c.query({ name: s.name, text: s.sql, values: s.values });
    memory[mode] = (await held()) - before;
    await c.end();
  }
  const sum = (k: 'genericMs' | 'customMs') => rows.reduce((a, r) => a + r[k], 0);
  const mib = (b: number) => (b / 1048576).toFixed(1);
  const lines = [
    `${DB}: ${rows.length} prepared statements of the ${process.env.SCENARIO ?? 'aggregations'} scenario${process.env.OPS ? ` (${process.env.OPS})` : ''}, ${EXECUTIONS} alternating executions each (first two left out), median ms.`,
    '',
    '| statement | plan kept (generic) | planned each time (custom) | custom/generic |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.statement} | ${r.genericMs.toFixed(2)} | ${r.customMs.toFixed(2)} | ${(r.customMs / r.genericMs).toFixed(2)} |`),
    `| **sum** | ${sum('genericMs').toFixed(1)} | ${sum('customMs').toFixed(1)} | ${(sum('customMs') / sum('genericMs')).toFixed(2)} |`,
    '',
    `Backend memory held by the ${rows.length} statements after three executions each: auto ${mib(memory.auto!)} MiB, plans kept ${mib(memory.force_generic_plan!)} MiB.`,
  ];
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `plan-modes-${NAME}.md`), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(RESULTS, `plan-modes-${NAME}.json`), JSON.stringify({ db: DB, executions: EXECUTIONS, rows, memory, at: new Date().toISOString() }, null, 2));
  process.stdout.write(lines.join('\n') + '\n');
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
