import { asMaintenance } from './maintenance-scope';
import { floorToInterval } from '../query/intervals';
import { sql, type Kysely } from 'kysely';
import { FAMILY_ROLLUPS, ROLLUPS, familyGroupBy, familySelectSql, rollupSelectSql } from '../../db/migrations/rollup-definitions';
import type { DatabaseHandle } from './database';
import type { AnyRollupName, Database } from './schema';

/**
 * Keeps the rollups (traces_1min / traces_1hour / traces_1day and the score and per-user families) fresh where no database scheduler does it:
 * embedded PGlite (TimescaleDB present, its job scheduler not running) and plain PostgreSQL
 * (no TimescaleDB at all). A TimescaleDB server runs the same windows as its own policies.
 *
 * Each run recomputes the buckets from min(watermark, now - startOffset) up to now - endOffset,
 * so rows that arrive late inside that window are folded in on the next run.
 */

interface RefreshableRollup {
  readonly name: AnyRollupName;
  readonly bucket: string;
  readonly startOffset: string;
  readonly endOffset: string;
  /** The table the rollup reads and its time column (the first refresh starts at its first row). */
  readonly source: { readonly table: 'traces' | 'scores'; readonly time: 'ts' | 'trace_ts' };
  /** How often the whole window is recomputed by the maintenance loop (TimescaleDB's schedule_interval). */
  readonly schedule: string;
  /** INSERT … SELECT body for buckets in [lower, to). */
  select(lower: Date, to: Date): string;
}

const lit = (d: Date) => `'${d.toISOString()}'::timestamptz`;

/** The trace rollups first (other families never depend on them), then the families. */
export const ALL_ROLLUPS: readonly RefreshableRollup[] = [
  ...ROLLUPS.map((r) => ({
    ...r,
    source: { table: 'traces' as const, time: 'ts' as const },
    select: (lower: Date, to: Date) =>
      `${rollupSelectSql(r.bucket)} WHERE ts >= ${lit(lower)} AND ts < ${lit(to)} GROUP BY 1, org_id, project_id, provider, model, environment`,
  })),
  ...FAMILY_ROLLUPS.map((r) => ({
    name: r.name as AnyRollupName,
    bucket: r.bucket,
    startOffset: r.startOffset,
    endOffset: r.endOffset,
    source: { table: r.def.source, time: r.def.time },
    schedule: r.schedule,
    select: (lower: Date, to: Date) =>
      `${familySelectSql(r, `${r.def.time} >= ${lit(lower)} AND ${r.def.time} < ${lit(to)}`)} ${familyGroupBy(r)}`,
  })),
];

const BUCKET_MS: Record<string, number> = { '1 minute': 60_000, '1 hour': 3_600_000, '1 day': 86_400_000, '7 days': 604_800_000 };

function intervalMs(text: string): number {
  const [n, unit] = text.split(' ');
  const k = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 }[
    unit as string
  ];
  if (!k) throw new Error(`unsupported interval ${text}`);
  return Number(n) * k;
}

/** Bucket starts counted from time_bucket's origin (Monday 2000-01-03 UTC), so weeks start on Monday. */
const floorTo = floorToInterval;

export interface RefreshResult {
  rollup: AnyRollupName;
  from: Date | null;
  to: Date;
  skipped: boolean;
  /** Scheduled turns: 'window' recomputed the whole refresh window, 'append' only new buckets. */
  kind?: 'window' | 'append';
  ms?: number;
}

export type Watermarks = Record<AnyRollupName, Date | null>;

export const noWatermarks = (): Watermarks => Object.fromEntries(ALL_ROLLUPS.map((r) => [r.name, null])) as Watermarks;

/** Where each rollup is complete up to (exclusive); null when it has never been refreshed. */
export async function rollupWatermarks(handle: DatabaseHandle, db: Kysely<Database> = handle.readDb): Promise<Watermarks> {
  const out = noWatermarks();
  if (handle.mode === 'timescale') {
    const { rows } = await sql<{ view_name: AnyRollupName; watermark: Date | null }>`
      SELECT user_view_name AS view_name,
             _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(mat_hypertable_id)) AS watermark
        FROM _timescaledb_catalog.continuous_agg
       WHERE user_view_name = ANY(${ALL_ROLLUPS.map((r) => r.name)}::text[])`.execute(db);
    for (const r of rows) out[r.view_name] = r.watermark;
    return out;
  }
  const rows = await db.selectFrom('rollup_state').select(['rollup', 'refreshed_to']).execute();
  for (const r of rows) if (r.rollup in out) out[r.rollup as AnyRollupName] = new Date(r.refreshed_to);
  return out;
}

// Every aggregation plans against the watermarks; one read per handle every few seconds is
// enough (an older mark only moves more of a range to finer sources, never a wrong answer).
const recentWatermarks = new WeakMap<DatabaseHandle, { at: number; marks: Promise<Watermarks> }>();

export function cachedRollupWatermarks(handle: DatabaseHandle, maxAgeMs = 5000): Promise<Watermarks> {
  const hit = recentWatermarks.get(handle);
  if (hit && Date.now() - hit.at < maxAgeMs) return hit.marks;
  const marks = rollupWatermarks(handle);
  recentWatermarks.set(handle, { at: Date.now(), marks });
  marks.catch(() => recentWatermarks.delete(handle));
  return marks;
}

/**
 * Any number of gateways may share one plain-PostgreSQL database: the refresh runs in one
 * transaction holding this transaction-level advisory lock (released at commit, so it works
 * through PgBouncer's transaction pooling). An instance that does not get it skips its turn,
 * and so does one that finds a refresh younger than `minGapMs` (another instance did it).
 */
export const MAINTENANCE_LOCK_KEY = 0x6761_7465; // 'gate'
const MAINTENANCE_MARK = 'maintenance';

export interface RefreshOptions {
  /** Skip when another instance refreshed less than this long ago (the maintenance loop's interval). */
  minGapMs?: number;
  /**
   * The maintenance loop's turns: each rollup appends its newly completed buckets every turn, but
   * recomputes its whole window (late rows) only once per its schedule (1min every turn, 1hour
   * hourly, 1day daily, as TimescaleDB's policies), and at most one coarse window per turn.
   * Without it (explicit refreshes, tests, the seeder) every window is recomputed.
   */
  scheduled?: boolean;
}

/** rollup_state rows `window:<rollup>`: when that rollup's whole window was last recomputed. */
const WINDOW_MARK = (name: string) => `window:${name}`;

export interface RefreshOutcome {
  /** false: another instance holds the lock or refreshed within minGapMs; nothing was done. */
  ran: boolean;
  results: RefreshResult[];
}

export async function refreshRollups(handle: DatabaseHandle, now: Date = new Date()): Promise<RefreshResult[]> {
  return (await refreshRollupsCoordinated(handle, now)).results;
}

export async function refreshRollupsCoordinated(handle: DatabaseHandle, now: Date = new Date(), opts: RefreshOptions = {}): Promise<RefreshOutcome> {
  recentWatermarks.delete(handle);
  if (handle.mode === 'timescale') return { ran: false, results: [] };
  if (handle.mode === 'embedded') {
    // One process owns an embedded database (data directory lock): nothing to coordinate, and
    // refresh_continuous_aggregate() cannot run inside a transaction anyway.
    const marks = await rollupWatermarks(handle, handle.db);
    const plan = await planTurn(handle.db, marks, now, opts.scheduled === true);
    const results: RefreshResult[] = [];
    for (const { r, w, kind } of plan) {
      const t0 = Date.now();
      if (!w.skipped) {
        for (const [from, to] of await embeddedSteps(handle, r, w.from, w.to)) {
          await sql`CALL refresh_continuous_aggregate(${r.name}, ${from}::timestamptz, ${to}::timestamptz)`.execute(handle.db);
          await saveWatermark(handle.db, r.name, to);
        }
        if (kind === 'window') await saveWatermark(handle.db, WINDOW_MARK(r.name), now);
      }
      results.push({ rollup: r.name, ...w, kind, ms: Date.now() - t0 });
    }
    recentWatermarks.delete(handle);
    return { ran: true, results };
  }
  const outcome = await handle.db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${MAINTENANCE_LOCK_KEY}) AS locked`.execute(trx);
    if (!rows[0]?.locked) return { ran: false, results: [] };
    if (opts.minGapMs) {
      const last = await trx.selectFrom('rollup_state').select('refreshed_to').where('rollup', '=', MAINTENANCE_MARK).executeTakeFirst();
      // A mark in the future (another instance's clock, a test's) never blocks refreshing.
      const age = last ? now.getTime() - new Date(last.refreshed_to).getTime() : Infinity;
      if (age >= 0 && age < opts.minGapMs) return { ran: false, results: [] };
    }
    const marks = await rollupWatermarks(handle, trx);
    const plan = await planTurn(trx, marks, now, opts.scheduled === true);
    const results: RefreshResult[] = [];
    for (const { r, w, kind } of plan) {
      const t0 = Date.now();
      if (!w.skipped) {
        const lower = w.from ?? new Date(0);
        await sql`DELETE FROM ${sql.table(r.name)} WHERE bucket >= ${lower} AND bucket < ${w.to}`.execute(trx);
        await sql`INSERT INTO ${sql.table(r.name)} ${sql.raw(r.select(lower, w.to))}`.execute(trx);
        await saveWatermark(trx, r.name, w.to);
        if (kind === 'window') await saveWatermark(trx, WINDOW_MARK(r.name), now);
      }
      results.push({ rollup: r.name, ...w, kind, ms: Date.now() - t0 });
    }
    await saveWatermark(trx, MAINTENANCE_MARK, now);
    return { ran: true, results };
  });
  recentWatermarks.delete(handle);
  return outcome;
}

/**
 * Embedded refreshes go a day at a time. PGlite's WebAssembly memory never shrinks, so the
 * largest single statement sets it for the life of the process: the first refresh of a 14-day
 * demo in one call grew it by ~40 MB (README, Memory). Whole UTC days are whole buckets at
 * every width. A rollup never refreshed starts at its source's first row (null: no rows).
 */
export const EMBEDDED_REFRESH_STEP_MS = 86_400_000;

async function embeddedSteps(handle: DatabaseHandle, r: RefreshableRollup, from: Date | null, to: Date): Promise<Array<[Date | null, Date]>> {
  // A step is whole buckets: a day, or one bucket of a wider rollup (a week).
  const stepMs = Math.max(EMBEDDED_REFRESH_STEP_MS, BUCKET_MS[r.bucket]!);
  let start = from?.getTime();
  if (start === undefined) {
    const { rows } = await sql<{ first: Date | null }>`SELECT min(${sql.ref(r.source.time)}) AS first FROM ${sql.table(r.source.table)}`.execute(handle.db);
    const first = rows[0]?.first;
    if (!first) return [[null, to]];
    start = floorTo(new Date(first).getTime(), stepMs);
  }
  const steps: Array<[Date | null, Date]> = [];
  for (let a = start; a < to.getTime(); a = floorTo(a, stepMs) + stepMs) {
    const b = Math.min(floorTo(a, stepMs) + stepMs, to.getTime());
    // The very first window also takes anything before the first row (there is none).
    steps.push([steps.length === 0 && from === null ? null : new Date(a), new Date(b)]);
  }
  return steps.length ? steps : [[from, to]];
}

interface PlannedRefresh {
  r: RefreshableRollup;
  w: { from: Date | null; to: Date; skipped: boolean };
  kind: 'window' | 'append';
}

/**
 * What one turn refreshes. Unscheduled: every rollup's whole window. Scheduled: a rollup whose
 * window is due (never recomputed, or longer ago than its schedule) recomputes it — the minute
 * rollups every turn, and of the coarser ones only the most overdue, so an hourly and a daily
 * recompute never share a turn; every other rollup only appends the buckets completed since its
 * watermark (late rows in older buckets wait for its next window).
 */
async function planTurn(db: Kysely<Database>, marks: Watermarks, now: Date, scheduled: boolean): Promise<PlannedRefresh[]> {
  if (!scheduled) return ALL_ROLLUPS.map((r) => ({ r, w: windowOf(r, marks[r.name], now), kind: 'window' as const }));
  const rows = await db
    .selectFrom('rollup_state')
    .select(['rollup', 'refreshed_to'])
    .where('rollup', 'in', ALL_ROLLUPS.map((r) => WINDOW_MARK(r.name)))
    .execute();
  const lastWindow = new Map(rows.map((x) => [x.rollup, new Date(x.refreshed_to).getTime()]));
  const overdue = (r: RefreshableRollup) => {
    const last = lastWindow.get(WINDOW_MARK(r.name));
    // Never recomputed (or a mark from the future): due, most overdue of all.
    if (last === undefined || last > now.getTime() || marks[r.name] === null) return Infinity;
    return (now.getTime() - last) / intervalMs(r.schedule);
  };
  const coarse = ALL_ROLLUPS.filter((r) => r.bucket !== '1 minute' && overdue(r) >= 1).sort((a, b) => overdue(b) - overdue(a));
  // Families of one width share a schedule: recompute the whole width together.
  const widthDue = coarse[0]?.bucket;
  return ALL_ROLLUPS.map((r) => {
    const mark = marks[r.name];
    if (r.bucket === '1 minute' || mark === null || (r.bucket === widthDue && overdue(r) >= 1)) {
      return { r, w: windowOf(r, mark, now), kind: 'window' as const };
    }
    return { r, w: appendOf(r, mark, now), kind: 'append' as const };
  });
}

/** Only the buckets completed since the watermark: [watermark, now - endOffset). */
function appendOf(r: RefreshableRollup, mark: Date, now: Date): { from: Date; to: Date; skipped: boolean } {
  const step = BUCKET_MS[r.bucket]!;
  const end = floorTo(now.getTime() - intervalMs(r.endOffset), step);
  return { from: mark, to: new Date(end), skipped: mark.getTime() >= end };
}

/** Recompute from min(watermark, now - startOffset) up to now - endOffset, in whole buckets. */
function windowOf(r: RefreshableRollup, mark: Date | null, now: Date): { from: Date | null; to: Date; skipped: boolean } {
  const step = BUCKET_MS[r.bucket]!;
  const end = floorTo(now.getTime() - intervalMs(r.endOffset), step);
  const windowStart = floorTo(now.getTime() - intervalMs(r.startOffset), step);
  // Never refreshed: everything from the first row. Behind: from the watermark.
  const start = mark === null ? null : Math.min(mark.getTime(), windowStart);
  if (start !== null && start >= end) return { from: new Date(start), to: new Date(end), skipped: true };
  return { from: start === null ? null : new Date(start), to: new Date(end), skipped: false };
}

async function saveWatermark(db: Kysely<Database>, rollup: string, to: Date): Promise<void> {
  await db
    .insertInto('rollup_state')
    .values({ rollup, refreshed_to: to, updated_at: new Date() })
    .onConflict((oc) => oc.column('rollup').doUpdateSet({ refreshed_to: to, updated_at: new Date() }))
    .execute();
}

/**
 * Retention where no TimescaleDB policy runs it: batched deletes keep each transaction short
 * so that ingest and reads are never blocked behind one huge DELETE.
 */
export async function applyRetention(handle: DatabaseHandle, retentionDays: number, now = new Date(), batch = 10_000): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  if (handle.mode === 'embedded') {
    // TimescaleDB is present: drop whole chunks, as its retention policy would.
    await sql`SELECT drop_chunks('traces', older_than => ${cutoff}::timestamptz)`.execute(handle.db);
    await sql`DELETE FROM scores WHERE ts < ${cutoff}`.execute(handle.db);
    return 0;
  }
  if (handle.mode !== 'postgres') return 0;
  let total = 0;
  for (const table of ['traces', 'scores'] as const) {
    for (;;) {
      const res = await sql`DELETE FROM ${sql.table(table)} WHERE ctid IN (
          SELECT ctid FROM ${sql.table(table)} WHERE ts < ${cutoff} LIMIT ${batch})`.execute(handle.db);
      const n = Number(res.numAffectedRows ?? 0);
      total += n;
      if (n < batch) break;
    }
  }
  for (const r of ALL_ROLLUPS) {
    await sql`DELETE FROM ${sql.table(r.name)} WHERE bucket < ${cutoff}`.execute(handle.db);
  }
  return total;
}

export interface MaintenanceLogger {
  warn(obj: object, msg: string): void;
}

/**
 * One maintenance turn: refresh (coordinated across instances), then retention, which runs
 * even when the refresh failed; the first error is the one reported. Retention runs only on
 * the instance whose refresh ran (or was due), so instances do not repeat each other's deletes.
 */
export async function runMaintenance(
  handle: DatabaseHandle,
  opts: { retentionDays: number; minGapMs?: number; now?: Date; scheduled?: boolean },
): Promise<{ refreshed: boolean; deleted: number; results?: RefreshResult[] }> {
  let first: unknown = null;
  let refreshed = false;
  let deleted = 0;
  let retentionDue = true;
  let results: RefreshResult[] | undefined;
  try {
    const o = await refreshRollupsCoordinated(handle, opts.now ?? new Date(), { minGapMs: opts.minGapMs, scheduled: opts.scheduled });
    results = o.results;
    refreshed = o.ran;
    retentionDue = o.ran;
  } catch (err) {
    first = err;
  }
  if (retentionDue) {
    try {
      deleted = await applyRetention(handle, opts.retentionDays, opts.now ?? new Date());
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== null) throw first;
  return { refreshed, deleted, results };
}

/** Periodic refresh + retention for the modes the gateway maintains; never overlaps itself. */
export function startRollupMaintenance(
  handle: DatabaseHandle,
  opts: { intervalMs: number; retentionDays: number; logger: MaintenanceLogger },
): { stop(): Promise<void> } {
  if (handle.mode === 'timescale' || opts.intervalMs === 0) return { stop: async () => undefined };
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = asMaintenance('rollup maintenance', async () => {
      try {
        await runMaintenance(handle, { retentionDays: opts.retentionDays, minGapMs: opts.intervalMs / 2, scheduled: true });
      } catch (err) {
        opts.logger.warn({ err }, 'rollup maintenance failed; will retry');
      } finally {
        running = null;
      }
    });
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (running) await running;
    },
  };
}
