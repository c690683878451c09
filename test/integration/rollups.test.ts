import { sql } from 'kysely';
import { migrateToLatest } from '../../src/db/migrator';
import { refreshRollups, refreshRollupsCoordinated, rollupWatermarks } from '../../src/db/rollup-refresh';
import { HIST_BUCKETS, HIST_MAX_MS } from '../../db/migrations/rollup-definitions';
import { MODES, openMode, type ModeFixture } from '../support/modes';
import { buildTraces, ensureOrgs, insertTraces } from '../support/trace-builder';

const NOW = new Date('2026-11-20T12:34:56Z');
const UNITS = { traces_1min: 'minute', traces_1hour: 'hour', traces_1day: 'day' } as const;

interface AggRow {
  k: string;
  request_count: number;
  error_count: number;
  duration_sum: number;
  duration_min: number;
  duration_max: number;
  ttft_count: number;
  total_tokens_sum: number;
  total_cost_sum: string;
}

/** Aggregates straight from traces with date_trunc: an independent path to the same numbers. */
async function direct(f: ModeFixture, unit: string, before: Date): Promise<Map<string, AggRow>> {
  const { rows } = await sql<AggRow>`
    SELECT concat_ws('|', to_char(date_trunc(${unit}, ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), org_id, project_id, provider, model, environment) AS k,
           count(*)::int AS request_count,
           sum(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END)::int AS error_count,
           sum(duration_ms) AS duration_sum, min(duration_ms) AS duration_min, max(duration_ms) AS duration_max,
           count(ttft_ms)::int AS ttft_count,
           sum(total_tokens)::float8 AS total_tokens_sum,
           sum(total_cost_usd)::text AS total_cost_sum
      FROM traces WHERE ts < ${before} GROUP BY 1`.execute(f.handle.db);
  return new Map(rows.map((r) => [r.k, r]));
}

async function fromRollup(f: ModeFixture, name: keyof typeof UNITS): Promise<Map<string, AggRow & { hist: number[] }>> {
  const { rows } = await sql<AggRow & { hist: number[] }>`
    SELECT concat_ws('|', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), org_id, project_id, provider, model, environment) AS k,
           request_count::int, error_count::int, duration_sum, duration_min, duration_max, ttft_count::int,
           total_tokens_sum::float8, total_cost_sum::text, latency_hist AS hist
      FROM ${sql.table(name)}`.execute(f.handle.db);
  return new Map(rows.map((r) => [r.k, r]));
}

async function expectRollupsMatch(f: ModeFixture, names = Object.keys(UNITS) as (keyof typeof UNITS)[]) {
  const marks = await rollupWatermarks(f.handle, f.handle.db);
  for (const name of names) {
    const mark = marks[name];
    expect(mark).not.toBeNull();
    const want = await direct(f, UNITS[name], mark as Date);
    const got = await fromRollup(f, name);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    // One comparison of normalized rows (thousands of keys; per-key expects are slow).
    const norm = (r: AggRow) => [
      r.request_count,
      r.error_count,
      Number(r.duration_sum).toFixed(4),
      r.duration_min,
      r.duration_max,
      r.ttft_count,
      r.total_tokens_sum,
      Number(r.total_cost_sum).toFixed(8),
    ];
    const wantRows = Object.fromEntries([...want].map(([k, r]) => [k, norm(r)]));
    const gotRows = Object.fromEntries([...got].map(([k, r]) => [k, norm(r)]));
    expect(gotRows).toEqual(wantRows);
    const badHist = [...got].filter(([k, g]) => g.hist.length !== HIST_BUCKETS + 2 || g.hist.reduce((a, b) => a + b, 0) !== want.get(k)?.request_count);
    expect(badHist).toEqual([]);
    // Histogram cells against width_bucket computed per row.
    const cells = await sql<{ k: string; wb: number; n: number }>`
      SELECT concat_ws('|', to_char(date_trunc(${UNITS[name]}, ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), org_id, project_id, provider, model, environment) AS k,
             width_bucket(ln(greatest(duration_ms, 1)), 0, ln(${HIST_MAX_MS}::float8), ${HIST_BUCKETS}) AS wb, count(*)::int AS n
        FROM traces WHERE ts < ${mark} GROUP BY 1, 2`.execute(f.handle.db);
    const wrongCells = cells.rows.filter((c) => got.get(c.k)?.hist[c.wb] !== c.n);
    expect(wrongCells).toEqual([]);
  }
}

describe.each(MODES)('rollups in %s mode', (mode) => {
  let f: ModeFixture;
  beforeAll(async () => {
    f = await openMode(mode);
    await migrateToLatest(f.handle);
    await ensureOrgs(f.handle.db, ['org_a', 'org_b']);
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it('equal aggregates computed directly from traces, then absorb late rows inside the refresh window', async () => {
    const from = new Date(NOW.getTime() - 10 * 86_400_000);
    await insertTraces(f.handle.db, buildTraces(3000, { from, to: NOW, seed: 11 }));
    const first = await refreshRollups(f.handle, NOW);
    expect(first.filter((r) => !r.skipped && r.rollup in UNITS).map((r) => r.rollup)).toEqual(['traces_1min', 'traces_1hour', 'traces_1day']);
    await expectRollupsMatch(f);

    // Late arrivals inside the 1-minute and 1-hour windows (the day bucket is not complete yet).
    const late = buildTraces(200, { from: new Date(NOW.getTime() - 170 * 60_000), to: new Date(NOW.getTime() - 70 * 60_000), seed: 12 });
    await insertTraces(f.handle.db, late);
    await refreshRollups(f.handle, new Date(NOW.getTime() + 5 * 60_000));
    await expectRollupsMatch(f);

    // Late arrivals two days back: inside the hourly and daily windows, outside the 1-minute one.
    const lateDays = buildTraces(100, { from: new Date(NOW.getTime() - 2 * 86_400_000), to: new Date(NOW.getTime() - 86_400_000 - 14 * 3_600_000), seed: 13 });
    await insertTraces(f.handle.db, lateDays);
    await refreshRollups(f.handle, new Date(NOW.getTime() + 10 * 60_000));
    await expectRollupsMatch(f, ['traces_1hour', 'traces_1day']);
  });

  it('materializes a day an hour after it ends, in every mode (TimescaleDB: the day policies say so too)', async () => {
    // Refreshed at NOW (12:34 on the 20th) and later: the 19th is complete and in, the 20th not yet.
    const marks = await rollupWatermarks(f.handle, f.handle.db);
    expect(marks.traces_1day!.toISOString()).toBe('2026-11-20T00:00:00.000Z');
    if (mode === 'embedded') {
      const { rows } = await sql<{ name: string; start_offset: string; end_offset: string; schedule: string }>`
        SELECT c.user_view_name AS name, j.config->>'start_offset' AS start_offset, j.config->>'end_offset' AS end_offset, j.schedule_interval::text AS schedule
          FROM _timescaledb_config.bgw_job j
          JOIN _timescaledb_catalog.continuous_agg c ON c.mat_hypertable_id = (j.config->>'mat_hypertable_id')::int
         WHERE j.proc_name = 'policy_refresh_continuous_aggregate' AND c.user_view_name LIKE '%1day' ORDER BY 1`.execute(f.handle.db);
      expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['scores_1day', 'traces_1day', 'traces_user_1day']));
      for (const r of rows) expect([r.name, r.start_offset, r.end_offset, r.schedule]).toEqual([r.name, '7 days', '01:00:00', '1 day']);
    }
  });

  if (mode === 'embedded') {
    it("reads TimescaleDB's own watermarks the way a TimescaleDB server deployment does", async () => {
      const ours = await rollupWatermarks(f.handle, f.handle.db);
      // The same database seen as a TimescaleDB server: watermarks come from cagg_watermark().
      const server = await rollupWatermarks({ ...f.handle, mode: 'timescale' }, f.handle.db);
      for (const name of Object.keys(UNITS) as (keyof typeof UNITS)[]) {
        expect(server[name]).not.toBeNull();
        // TimescaleDB's mark ends at the last materialized bucket with data: never past ours.
        expect(server[name]!.getTime()).toBeLessThanOrEqual(ours[name]!.getTime());
      }
    });
  }

  it('skips a rollup whose window holds no complete bucket yet', async () => {
    const now = new Date(NOW.getTime() + 10 * 60_000 + 1000);
    const again = await refreshRollups(f.handle, now);
    expect(again.find((r) => r.rollup === 'traces_1min')?.skipped).toBe(false);
    const marks = await rollupWatermarks(f.handle, f.handle.db);
    expect(marks.traces_1min!.getTime()).toBeLessThanOrEqual(now.getTime() - 60_000);
  });

  it('scheduled turns: minute windows every turn, an hourly/daily window on its schedule, new buckets always', async () => {
    const base = NOW.getTime() + 10 * 60_000; // the last full refresh above
    const kinds = (rs: { rollup: string; kind?: string; skipped: boolean }[]) =>
      Object.fromEntries(rs.filter((r) => r.rollup in UNITS).map((r) => [r.rollup, r.kind]));
    const hourSum = async (from: Date, to: Date) =>
      Number((await sql<{ n: string }>`SELECT coalesce(sum(request_count), 0) AS n FROM traces_1hour WHERE bucket >= ${from} AND bucket < ${to}`.execute(f.handle.db)).rows[0]!.n);

    // New rows after the watermarks, and late rows two days back (outside the minute window).
    await insertTraces(f.handle.db, buildTraces(150, { from: new Date(base - 5 * 60_000), to: new Date(base + 90 * 60_000), seed: 14 }));
    const lateFrom = new Date(base - 2 * 86_400_000);
    const lateTo = new Date(base - 2 * 86_400_000 + 3 * 3_600_000);
    const lateHours = [new Date(Math.floor(lateFrom.getTime() / 3_600_000) * 3_600_000), new Date(Math.ceil(lateTo.getTime() / 3_600_000) * 3_600_000)] as const;
    const before = await hourSum(...lateHours);
    await insertTraces(f.handle.db, buildTraces(80, { from: lateFrom, to: lateTo, seed: 15 }));

    // 50 minutes on: the hourly window is not due yet; only completed buckets are appended.
    const t1 = await refreshRollupsCoordinated(f.handle, new Date(base + 50 * 60_000), { scheduled: true });
    expect(kinds(t1.results)).toEqual({ traces_1min: 'window', traces_1hour: 'append', traces_1day: 'append' });
    expect(await hourSum(...lateHours)).toBe(before);

    // Past an hour since the last window: the hourly rollups recompute theirs (late rows in), the daily ones still append.
    const t2 = await refreshRollupsCoordinated(f.handle, new Date(base + 61 * 60_000), { scheduled: true });
    expect(kinds(t2.results)).toEqual({ traces_1min: 'window', traces_1hour: 'window', traces_1day: 'append' });
    expect(t2.results.filter((r) => r.rollup.endsWith('_1hour')).every((r) => r.kind === 'window')).toBe(true);
    // (The minute rollup never sees rows two days late: outside its 3-hour window, as before.)
    await expectRollupsMatch(f, ['traces_1hour']);
    expect(await hourSum(...lateHours)).toBe(before + 80);

    // A day on, both are due: one coarse width per turn (the more overdue first), the other next turn.
    const t3 = await refreshRollupsCoordinated(f.handle, new Date(base + 86_400_000 + 2 * 60_000), { scheduled: true });
    expect(kinds(t3.results)).toEqual({ traces_1min: 'window', traces_1hour: 'window', traces_1day: 'append' });
    const t4 = await refreshRollupsCoordinated(f.handle, new Date(base + 86_400_000 + 3 * 60_000), { scheduled: true });
    expect(kinds(t4.results)).toEqual({ traces_1min: 'window', traces_1hour: 'append', traces_1day: 'window' });
    expect(t4.results.filter((r) => r.rollup.endsWith('_1day')).every((r) => r.kind === 'window')).toBe(true);
    await expectRollupsMatch(f, ['traces_1hour', 'traces_1day']);
  });
});
