/**
 * `npx tsx bench/plan-modes.ts`: what keeping a prepared report statement's plan
 * (`DB_PREPARED_PLAN_CACHE_MODE=force_generic_plan`, src/db/read-batch.ts) changes, statement by
 * statement, on a kept benchmark database (BENCH_DB, default gw_bench_300000). The gateway runs
 * in-process (cache off) and answers each operation of the scenario (SCENARIO=aggregations|mixed,
 * OPS=name,…) once; the statements it would prepare (those that read a rollup) are kept with
 * their values. Each is then executed on two connections, one under `force_generic_plan`, one
 * under `force_custom_plan` (a plan per execution, what `auto` did for these), alternating,
 * EXECUTIONS times (default 12; the first two left out), and the medians compared; last, the
 * backend memory the statements hold after three executions each, under `auto` and under
 * `force_generic_plan` (`pg_backend_memory_contexts`). The read batches' aggregate settings are
 * applied as the gateway applies them (statement timeout, parallel append off). Writes
 * bench/results/plan-modes-<NAME>.md|json. Run under /work/tools/heavy on a shared machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { readsRollup } from '../src/db/database';
import { AGGREGATIONS, MIXED } from './support/load-scenarios';
import { startScenarioGateway } from './support/scenario-gateway';

const RESULTS = path.join(__dirname, 'results');
const DB = process.env.BENCH_DB ?? 'gw_bench_300000';
const EXECUTIONS = Number(process.env.EXECUTIONS ?? 12);
const NAME = process.env.NAME ?? DB;
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres' };

interface Captured {
  readonly sql: string;
  readonly values: readonly unknown[];
}

/** The statements the gateway prepares while it answers the scenario once, each with its last values. */
async function capture(): Promise<Captured[]> {
  const scenario = process.env.SCENARIO ?? 'aggregations';
  const ops = (scenario === 'mixed' ? MIXED : AGGREGATIONS).filter((o) => !o.variables && (!process.env.OPS || process.env.OPS.split(',').includes(o.name)));
  const g = await startScenarioGateway(DB, 'bench-plan-modes');
  const bySql = new Map<string, Captured>();
  const off = g.database.addQueryListener((e) => {
    if (e.level === 'query' && readsRollup(e.query.sql)) bySql.set(e.query.sql, { sql: e.query.sql, values: e.query.parameters });
  });
  try {
    for (const op of ops) await g.ask(op.query, op.name);
  } finally {
    off();
    await g.stop();
  }
  return [...bySql.values()];
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
  const statements = await capture();
  if (!statements.length) throw new Error(`no statement of the scenario reads a rollup on ${DB}`);

  const generic = await connect('force_generic_plan');
  const custom = await connect('force_custom_plan');
  const rows: { statement: string; genericMs: number; customMs: number }[] = [];
  try {
    for (const [n, s] of statements.entries()) {
      const t = { g: [] as number[], c: [] as number[] };
      for (let i = 0; i < EXECUTIONS; i++) {
        for (const [k, c] of [['g', generic], ['c', custom]] as const) {
          const t0 = performance.now();
          await c.query({ name: `plan_modes_${n}`, text: s.sql, values: s.values as unknown[] });
          t[k].push(performance.now() - t0);
        }
      }
      rows.push({ statement: /\/\* ([\w:+]+)/.exec(s.sql)?.[1] ?? `statement ${n}`, genericMs: median(t.g), customMs: median(t.c) });
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
    for (const [n, s] of statements.entries()) for (let i = 0; i < 3; i++) await c.query({ name: `plan_modes_${n}`, text: s.sql, values: s.values as unknown[] });
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
