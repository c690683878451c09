/**
 * `npx tsx bench/maintenance-turns.ts`: how long the plain-mode maintenance turn takes on a
 * seeded benchmark database (BENCH_DB): one unscheduled turn (every window recomputed, what each
 * turn did before per-rollup schedules), then the scheduled turns the loop runs — a minute turn
 * (minute windows + appends), the hourly turn and the daily turn (made due by clearing their
 * `window:` marks). Per rollup: kind, window and ms. Writes bench/results/maintenance-<db>.md.
 * Run under /work/tools/heavy on a shared machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { refreshRollupsCoordinated, type RefreshResult } from '../src/db/rollup-refresh';

async function main() {
  const db = process.env.BENCH_DB ?? `gw_bench_${process.env.BENCH_TRACES ?? 1_000_000}`;
  const h = await openDatabase(loadConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}`, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  const traces = (await h.db.selectFrom('traces').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n;
  const out: string[] = [`Maintenance turns on ${db} (${traces} traces), plain PostgreSQL, ${new Date().toISOString()}`, ''];
  const turn = async (title: string, scheduled: boolean) => {
    const t = Date.now();
    const o = await refreshRollupsCoordinated(h, new Date(), { scheduled });
    const ms = Date.now() - t;
    const parts = o.results.filter((r: RefreshResult) => !r.skipped).map((r) => `${r.rollup} ${r.kind} ${r.ms} ms`);
    out.push(`| ${title} | ${(ms / 1000).toFixed(1)} s | ${parts.join(', ')} |`);
    process.stdout.write(out[out.length - 1] + '\n');
  };
  out.push('| turn | total | rollups refreshed (kind, ms) |', '|---|---|---|');
  try {
    await turn('unscheduled (every window, the old turn)', false);
    await turn('scheduled: minute turn', true);
    await h.db.deleteFrom('rollup_state').where('rollup', 'like', 'window:%_1hour').execute();
    await turn('scheduled: hourly turn', true);
    await h.db.deleteFrom('rollup_state').where('rollup', 'like', 'window:%_1day').execute();
    await turn('scheduled: daily turn', true);
    await turn('scheduled: minute turn again', true);
  } finally {
    await h.close();
  }
  const file = path.join(__dirname, 'results', `maintenance-${db}.md`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
