/**
 * `npx tsx bench/scenario-statements.ts`: where the database time of a load scenario goes. The
 * gateway runs in-process on a seeded benchmark database (BENCH_DB, default gw_lead_300k),
 * cache off; each operation of the scenario (SCENARIO=aggregations|mixed, default
 * aggregations) is sent ROUNDS times (default 30) by one client, one after another, and every
 * statement's time is recorded under its operation and its statement tag (the SQL comment).
 * Prints, per operation, the median request time and the median time and count of each tag
 * per request; writes the table to bench/results/scenario-statements-<NAME>.md. Run under
 * /work/tools/heavy on a shared machine (one heavy job at a time).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { AGGREGATIONS, MIXED } from './support/load-scenarios';
import { startScenarioGateway } from './support/scenario-gateway';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

/** The statement with its parameters as literals (EXPLAIN takes no bind parameters through Kysely's raw SQL). */
function inline(text: string, params: readonly unknown[]): string {
  const lit = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL';
    if (v instanceof Date) return `'${v.toISOString()}'::timestamptz`;
    if (Array.isArray(v)) return `ARRAY[${v.map(lit).join(', ')}]::text[]`;
    if (typeof v === 'number') return String(v);
    return `'${String(v).replace(/'/g, "''")}'`;
  };
  return text.replace(/\$(\d+)/g, (_, i: string) => lit(params[Number(i) - 1]));
}

async function main() {
  const db = process.env.BENCH_DB ?? 'gw_lead_300k';
  const rounds = Number(process.env.ROUNDS ?? 30);
  const scenario = process.env.SCENARIO ?? 'aggregations';
  const ops = (scenario === 'mixed' ? MIXED : AGGREGATIONS).filter((o) => !o.variables);
  const g = await startScenarioGateway(db, 'bench-scenario-statements');
  const h = g.database;
  let current: Map<string, number[]> | null = null;
  let opName = '';
  const lastSql = new Map<string, { sql: string; params: readonly unknown[] }>();
  const off = h.addQueryListener((e) => {
    if (!current || e.level !== 'query') return;
    const tag = (/\/\* ([\w]+)[:* ]/.exec(e.query.sql)?.[1]) ?? e.query.sql.slice(0, 40).replace(/\s+/g, ' ');
    const list = current.get(tag) ?? [];
    list.push(e.queryDurationMillis);
    current.set(tag, list);
    if (/\/\* \w+/.test(e.query.sql)) lastSql.set(`${opName} ${tag}`, { sql: e.query.sql, params: e.query.parameters });
  });
  const sqlText: string[] = [];
  const lines = [`${db}, ${rounds} rounds per operation, one client, cache off; times in ms (median per request).`, '',
    '| operation | request | statement tag | statements/request | ms/request |', '|---|---|---|---|---|'];
  try {
    for (const op of ops) {
      opName = op.name;
      const perTag = new Map<string, number[]>();
      const counts = new Map<string, number[]>();
      const total: number[] = [];
      for (let i = 0; i < rounds + 3; i++) {
        current = new Map();
        const t = performance.now();
        await g.ask(op.query, op.name);
        if (i < 3) continue; // warm-up
        total.push(performance.now() - t);
        for (const [tag, ms] of current) {
          (perTag.get(tag) ?? perTag.set(tag, []).get(tag)!).push(ms.reduce((a, b) => a + b, 0));
          (counts.get(tag) ?? counts.set(tag, []).get(tag)!).push(ms.length);
        }
      }
      current = null;
      let first = true;
      for (const [tag, ms] of [...perTag].sort((a, b) => median(b[1]) - median(a[1]))) {
        lines.push(`| ${first ? op.name : ''} | ${first ? median(total).toFixed(1) : ''} | ${tag} | ${median(counts.get(tag)!)} | ${median(ms).toFixed(2)} |`);
        first = false;
      }
    }
    if (process.env.EXPLAIN === '1') {
      lines.push('', '## Plans (EXPLAIN ANALYZE of the last statement of each tag)');
      // As the gateway runs them: the aggregate class's settings (src/db/database.ts) for the session.
      await h.db.connection().execute(async (conn) => {
        await sql.raw('SET enable_parallel_append = off').execute(conn);
        for (const [label, s] of lastSql) {
          sqlText.push(`-- ${label}`, `${inline(s.sql, s.params)};`, '');
          const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN (ANALYZE, BUFFERS) ${sql.raw(inline(s.sql, s.params))}`.execute(conn);
          lines.push('', `### ${label}`, '```', ...rows.map((r) => r['QUERY PLAN']), '```');
        }
        await sql.raw('RESET enable_parallel_append').execute(conn);
      });
    }
  } finally {
    off();
    await g.stop();
  }
  const file = path.join(__dirname, 'results', `scenario-statements-${process.env.NAME ?? scenario}.md`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join('\n') + '\n');
  if (sqlText.length) fs.writeFileSync(file.replace(/\.md$/, '.sql'), sqlText.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n(${file})\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
