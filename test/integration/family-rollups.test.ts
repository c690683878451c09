import { sql } from 'kysely';
import { migrateToLatest } from '../../src/db/migrator';
import { refreshRollups, rollupWatermarks } from '../../src/db/rollup-refresh';
import type { NewTrace } from '../../src/db/schema';
import { MODES, openMode, type ModeFixture } from '../support/modes';
import { HIST_BUCKETS, HIST_MAX_MS } from '../../db/migrations/rollup-definitions';
import { buildTraces, ensureOrgs, insertTraces, prng, uuidFrom } from '../support/trace-builder';

/**
 * The score rollups (scores_*, score_values_*, project_scores_*, project_score_values_*, scored_traces_*,
 * project_scored_traces_*) and the per-user trace
 * rollups (traces_user_*, traces_model_*) against independent SQL over the raw rows: scores joined to their
 * traces (the path quality took before scores carried their trace's dimensions), buckets by
 * date_trunc. Including late traces inside the refresh window and scores arriving after their
 * trace (written without the trace's provider, model and environment: the trigger fills them).
 */
const NOW = new Date('2026-11-20T12:34:56Z');
// date_trunc('week') starts on Monday, as time_bucket's origin (2000-01-03) does.
const UNIT: Record<string, string> = { '1min': 'minute', '1hour': 'hour', '1day': 'day', '1week': 'week' };
const NAMES = [
  ['helpfulness', 'llm'],
  ['user_feedback', 'human'],
  ['toxicity', 'heuristic'],
] as const;

function buildScores(traces: NewTrace[], seed: number, withDims: boolean) {
  const rand = prng(seed);
  const out: Record<string, unknown>[] = [];
  for (const t of traces) {
    for (const [name, source] of NAMES) {
      if (rand() < 0.5) continue;
      const fb = name === 'user_feedback';
      const up = rand() < 0.6;
      out.push({
        id: uuidFrom(rand),
        trace_id: t.id,
        ts: new Date(new Date(t.ts as Date).getTime() + 30_000),
        org_id: t.org_id,
        project_id: t.project_id,
        name,
        // Few distinct values, and some NULL values, as real evaluators give.
        value: fb ? (up ? 1 : 0) : rand() < 0.1 ? null : Math.round(rand() * 20) / 20,
        label: fb ? (up ? 'thumbs_up' : 'thumbs_down') : null,
        source,
        comment: null,
        // The trace's time always (a hypertable routes rows by it before any trigger runs); the
        // dimensions only from the seeder's path, else the trigger looks them up.
        trace_ts: t.ts,
        ...(withDims ? { provider: t.provider, model: t.model, environment: t.environment } : {}),
      });
    }
  }
  return out;
}

async function insertScores(f: ModeFixture, rows: Record<string, unknown>[]) {
  for (let i = 0; i < rows.length; i += 200) await f.handle.db.insertInto('scores').values(rows.slice(i, i + 200) as any).execute();
}

const key = (unit: string, extra: string) =>
  `concat_ws('|', to_char(date_trunc('${unit}', t.ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), t.org_id, t.project_id, t.provider, t.model, t.environment${extra})`;
const rkey = (extra: string) =>
  `concat_ws('|', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), org_id, project_id, provider, model, environment${extra})`;

async function rowsOf(f: ModeFixture, text: string): Promise<Record<string, string>> {
  const { rows } = await sql.raw<{ k: string; v: string }>(text).execute(f.handle.db);
  return Object.fromEntries(rows.map((r) => [r.k, r.v]));
}

async function expectFamiliesMatch(f: ModeFixture, levels = ['1min', '1hour', '1day', '1week']) {
  const marks = await rollupWatermarks(f.handle, f.handle.db);
  for (const level of levels) {
    const unit = UNIT[level]!;
    const mark = (name: string) => `'${(marks as Record<string, Date | null>)[name]!.toISOString()}'::timestamptz`;
    const joined = (m: string) => `FROM scores s JOIN traces t ON t.id = s.trace_id AND t.org_id = s.org_id WHERE t.ts < ${m}`;
    // Keyed by project only: the same value counts summed over providers, models and environments.
    const projectValues = async () => {
      const pv = `project_score_values_${level}`;
      expect(
        await rowsOf(f, `SELECT concat_ws('|', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), org_id, project_id, name, value) AS k, value_count::text AS v FROM ${pv}`),
      ).toEqual(
        await rowsOf(f, `SELECT concat_ws('|', to_char(date_trunc('${unit}', t.ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), t.org_id, t.project_id, s.name, s.value) AS k,
            count(*)::text AS v ${joined(mark(pv))} AND s.value IS NOT NULL GROUP BY 1`),
      );
    };
    if (level === '1week') {
      // Only the project value counts have weeks.
      await projectValues();
      continue;
    }

    const s = `scores_${level}`;
    expect(
      await rowsOf(f, `SELECT ${rkey(", name, source, coalesce(label, '-')")} AS k,
          concat_ws('/', score_count, value_count, round(value_sum::numeric, 6), value_min, value_max) AS v FROM ${s}`),
    ).toEqual(
      await rowsOf(f, `SELECT ${key(unit, ", s.name, s.source, coalesce(s.label, '-')")} AS k,
          concat_ws('/', count(*), count(s.value), round(sum(s.value)::numeric, 6), min(s.value), max(s.value)) AS v
          ${joined(mark(s))} GROUP BY 1`),
    );

    const v = `score_values_${level}`;
    expect(await rowsOf(f, `SELECT ${rkey(', name, value')} AS k, value_count::text AS v FROM ${v}`)).toEqual(
      await rowsOf(f, `SELECT ${key(unit, ', s.name, s.value')} AS k, count(*)::text AS v ${joined(mark(v))} AND s.value IS NOT NULL GROUP BY 1`),
    );

    const st = `scored_traces_${level}`;
    expect(await rowsOf(f, `SELECT ${rkey('')} AS k, concat_ws('/', scored_traces, human_traces) AS v FROM ${st}`)).toEqual(
      await rowsOf(f, `SELECT ${key(unit, '')} AS k,
          concat_ws('/', count(DISTINCT s.trace_id), count(DISTINCT s.trace_id) FILTER (WHERE s.source = 'human')) AS v
          ${joined(mark(st))} GROUP BY 1`),
    );

    // The score sums and scored traces keyed by project only.
    const pkey = (unit: string, extra: string) =>
      `concat_ws('|', to_char(date_trunc('${unit}', t.ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), t.org_id, t.project_id${extra})`;
    const prkey = (extra: string) => `concat_ws('|', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), org_id, project_id${extra})`;
    const ps = `project_scores_${level}`;
    const projectSums = await rowsOf(f, `SELECT ${prkey(", name, source, coalesce(label, '-')")} AS k,
        concat_ws('/', score_count, value_count, round(value_sum::numeric, 6), value_min, value_max) AS v FROM ${ps}`);
    expect(Object.keys(projectSums).length).toBeGreaterThan(0);
    expect(projectSums).toEqual(
      await rowsOf(f, `SELECT ${pkey(unit, ", s.name, s.source, coalesce(s.label, '-')")} AS k,
          concat_ws('/', count(*), count(s.value), round(sum(s.value)::numeric, 6), min(s.value), max(s.value)) AS v
          ${joined(mark(ps))} GROUP BY 1`),
    );
    const pst = `project_scored_traces_${level}`;
    const projectScored = await rowsOf(f, `SELECT ${prkey('')} AS k, concat_ws('/', scored_traces, human_traces) AS v FROM ${pst}`);
    expect(Object.keys(projectScored).length).toBeGreaterThan(0);
    expect(projectScored).toEqual(
      await rowsOf(f, `SELECT ${pkey(unit, '')} AS k,
          concat_ws('/', count(DISTINCT s.trace_id), count(DISTINCT s.trace_id) FILTER (WHERE s.source = 'human')) AS v
          ${joined(mark(pst))} GROUP BY 1`),
    );

    // By provider and model only (org-wide reports), every level: sums, extremes and the latency histogram.
    const m = `traces_model_${level}`;
    const modelRows = await rowsOf(f, `SELECT concat_ws('|', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), org_id, coalesce(provider, '-'), coalesce(model, '-')) AS k,
          concat_ws('/', request_count, error_count, round(duration_sum::numeric, 4), ttft_count, total_tokens_sum, round(total_cost_sum, 8), duration_min, duration_max, latency_hist::text) AS v FROM ${m}`);
    expect(Object.keys(modelRows).length).toBeGreaterThan(0);
    expect(modelRows).toEqual(
      await rowsOf(f, `SELECT concat_ws('|', to_char(date_trunc('${unit}', ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), org_id, coalesce(provider, '-'), coalesce(model, '-')) AS k,
          concat_ws('/', count(*), count(*) FILTER (WHERE status_code >= 400), round(sum(duration_ms)::numeric, 4), count(ttft_ms), sum(total_tokens), round(sum(total_cost_usd), 8), min(duration_ms), max(duration_ms),
            histogram(ln(greatest(duration_ms, 1)), 0, ln(${HIST_MAX_MS}), ${HIST_BUCKETS})::text) AS v
          FROM traces t WHERE ts < ${mark(m)} GROUP BY 1`),
    );

    if (level !== '1min') {
      await projectValues();

      const u = `traces_user_${level}`;
      expect(
        await rowsOf(f, `SELECT concat_ws('|', to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), org_id, project_id, coalesce(user_id, '-')) AS k,
            concat_ws('/', request_count, error_count, round(duration_sum::numeric, 4), total_tokens_sum, round(total_cost_sum, 8), duration_max) AS v FROM ${u}`),
      ).toEqual(
        await rowsOf(f, `SELECT concat_ws('|', to_char(date_trunc('${unit}', ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI'), org_id, project_id, coalesce(user_id, '-')) AS k,
            concat_ws('/', count(*), count(*) FILTER (WHERE status_code >= 400), round(sum(duration_ms)::numeric, 4), sum(total_tokens), round(sum(total_cost_usd), 8), max(duration_ms)) AS v
            FROM traces t WHERE ts < ${mark(u)} GROUP BY 1`),
      );
    }
  }
}

describe.each(MODES)('score, per-user and by-model rollups in %s mode', (mode) => {
  let f: ModeFixture;
  beforeAll(async () => {
    f = await openMode(mode);
    await migrateToLatest(f.handle);
    await ensureOrgs(f.handle.db, ['org_a', 'org_b']);
  }, 300_000);
  afterAll(async () => {
    await f.cleanup();
  });

  it('equal independent SQL over scores joined to their traces, then absorb late traces and late scores', async () => {
    const traces = buildTraces(1500, { from: new Date(NOW.getTime() - 6 * 86_400_000), to: NOW, seed: 21 });
    await insertTraces(f.handle.db, traces);
    // Half the scores come with their trace's dimensions (the seeder), half without (the trigger fills them).
    await insertScores(f, buildScores(traces.slice(0, 750), 22, true));
    await insertScores(f, buildScores(traces.slice(750), 23, false));
    // A score whose trace does not exist is not counted (the join never found it either).
    await insertScores(f, [{ id: uuidFrom(prng(1)), trace_id: uuidFrom(prng(2)), ts: NOW, trace_ts: NOW, org_id: 'org_a', project_id: 'org_a_p0', name: 'helpfulness', value: 1, label: null, source: 'llm', comment: null }]);
    await refreshRollups(f.handle, NOW);
    await expectFamiliesMatch(f);

    // Late traces inside the 1-minute window, with their scores (arriving after the trace).
    const late = buildTraces(100, { from: new Date(NOW.getTime() - 150 * 60_000), to: new Date(NOW.getTime() - 70 * 60_000), seed: 24 });
    await insertTraces(f.handle.db, late);
    await refreshRollups(f.handle, new Date(NOW.getTime() + 2 * 60_000));
    await insertScores(f, buildScores(late, 25, false));
    await refreshRollups(f.handle, new Date(NOW.getTime() + 5 * 60_000));
    await expectFamiliesMatch(f);

    // Late scores of traces two days old: inside the hourly and daily windows only.
    const old = traces.filter((t) => {
      const age = NOW.getTime() - new Date(t.ts as Date).getTime();
      return age > 30 * 3_600_000 && age < 50 * 3_600_000;
    });
    expect(old.length).toBeGreaterThan(0);
    const rand = prng(27);
    await insertScores(f, buildScores(old, 26, false).map((sc) => ({ ...sc, id: uuidFrom(rand), ts: NOW })));
    await refreshRollups(f.handle, new Date(NOW.getTime() + 10 * 60_000));
    await expectFamiliesMatch(f, ['1hour', '1day', '1week']);

    // Four days on, the week of Nov 16 is complete too; then late scores of traces from Nov 14–15
    // (the week of Nov 9): past the daily window (7 days), inside the weekly one (28 days).
    const later = new Date(NOW.getTime() + 4 * 86_400_000);
    await refreshRollups(f.handle, later);
    const weeks = await sql<{ n: number }>`SELECT count(DISTINCT bucket)::int AS n FROM project_score_values_1week`.execute(f.handle.db);
    expect(weeks.rows[0]!.n).toBe(2);
    // (The minute rollups never saw the late scores above: those were past their 3-hour window.)
    await expectFamiliesMatch(f, ['1hour', '1day', '1week']);
    const weekOld = traces.filter((t) => new Date(t.ts as Date).getTime() < Date.parse('2026-11-16T00:00:00Z'));
    expect(weekOld.length).toBeGreaterThan(0);
    await insertScores(f, buildScores(weekOld, 28, false).map((sc) => ({ ...sc, id: uuidFrom(rand), ts: later })));
    await refreshRollups(f.handle, new Date(later.getTime() + 10 * 60_000));
    await expectFamiliesMatch(f, ['1week']);
    const orphans = await sql<{ n: number }>`SELECT count(*)::int AS n FROM scores WHERE model IS NULL`.execute(f.handle.db);
    expect(orphans.rows[0]!.n).toBe(1);
  }, 300_000);
});
