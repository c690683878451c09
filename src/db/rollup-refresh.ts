import { asMaintenance } from './maintenance-scope';
import { sql, type Kysely } from 'kysely';
import { ROLLUPS, rollupSelectSql } from '../../db/migrations/rollup-definitions';
import type { DatabaseHandle } from './database';
import type { Database, RollupName } from './schema';

/**
 * Keeps traces_1min / traces_1hour / traces_1day fresh where no database scheduler does it:
 * embedded PGlite (TimescaleDB present, its job scheduler not running) and plain PostgreSQL
 * (no TimescaleDB at all). A TimescaleDB server runs the same windows as its own policies.
 *
 * Each run recomputes the buckets from min(watermark, now - startOffset) up to now - endOffset,
 * so rows that arrive late inside that window are folded in on the next run.
 */

const BUCKET_MS: Record<RollupName, number> = {
  traces_1min: 60_000,
  traces_1hour: 3_600_000,
  traces_1day: 86_400_000,
};

function intervalMs(text: string): number {
  const [n, unit] = text.split(' ');
  const k = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 }[
    unit as string
  ];
  if (!k) throw new Error(`unsupported interval ${text}`);
  return Number(n) * k;
}

const floorTo = (t: number, step: number) => Math.floor(t / step) * step;

export interface RefreshResult {
  rollup: RollupName;
  from: Date | null;
  to: Date;
  skipped: boolean;
}

/** Where each rollup is complete up to (exclusive); null when it has never been refreshed. */
export async function rollupWatermarks(handle: DatabaseHandle, db: Kysely<Database> = handle.readDb): Promise<Record<RollupName, Date | null>> {
  const out: Record<RollupName, Date | null> = { traces_1min: null, traces_1hour: null, traces_1day: null };
  if (handle.mode === 'timescale') {
    const { rows } = await sql<{ view_name: RollupName; watermark: Date | null }>`
      SELECT user_view_name AS view_name,
             _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(mat_hypertable_id)) AS watermark
        FROM _timescaledb_catalog.continuous_agg
       WHERE user_view_name IN ('traces_1min', 'traces_1hour', 'traces_1day')`.execute(db);
    for (const r of rows) out[r.view_name] = r.watermark;
    return out;
  }
  const rows = await db.selectFrom('rollup_state').select(['rollup', 'refreshed_to']).execute();
  for (const r of rows) if (r.rollup in out) out[r.rollup as RollupName] = new Date(r.refreshed_to);
  return out;
}

// Every aggregation plans against the watermarks; one read per handle every few seconds is
// enough (an older mark only moves more of a range to finer sources, never a wrong answer).
const recentWatermarks = new WeakMap<DatabaseHandle, { at: number; marks: Promise<Record<RollupName, Date | null>> }>();

export function cachedRollupWatermarks(handle: DatabaseHandle, maxAgeMs = 5000): Promise<Record<RollupName, Date | null>> {
  const hit = recentWatermarks.get(handle);
  if (hit && Date.now() - hit.at < maxAgeMs) return hit.marks;
  const marks = rollupWatermarks(handle);
  recentWatermarks.set(handle, { at: Date.now(), marks });
  marks.catch(() => recentWatermarks.delete(handle));
  return marks;
}

export async function refreshRollups(handle: DatabaseHandle, now: Date = new Date()): Promise<RefreshResult[]> {
  recentWatermarks.delete(handle);
  if (handle.mode === 'timescale') return [];
  const marks = await rollupWatermarks(handle, handle.db);
  const results: RefreshResult[] = [];
  for (const r of ROLLUPS) {
    const step = BUCKET_MS[r.name];
    const end = floorTo(now.getTime() - intervalMs(r.endOffset), step);
    const mark = marks[r.name];
    const windowStart = floorTo(now.getTime() - intervalMs(r.startOffset), step);
    // Never refreshed: everything from the first row. Behind: from the watermark.
    const start = mark === null ? null : Math.min(mark.getTime(), windowStart);
    if (start !== null && start >= end) {
      results.push({ rollup: r.name, from: new Date(start), to: new Date(end), skipped: true });
      continue;
    }
    const from = start === null ? null : new Date(start);
    const to = new Date(end);
    if (handle.mode === 'embedded') {
      await sql`CALL refresh_continuous_aggregate(${r.name}, ${from}::timestamptz, ${to}::timestamptz)`.execute(handle.db);
      await saveWatermark(handle.db, r.name, to);
    } else {
      await handle.db.transaction().execute(async (trx) => {
        const lower = from ?? new Date(0);
        await sql`DELETE FROM ${sql.table(r.name)} WHERE bucket >= ${lower} AND bucket < ${to}`.execute(trx);
        await sql`INSERT INTO ${sql.table(r.name)}
          ${sql.raw(rollupSelectSql(r.bucket))}
          WHERE ts >= ${lower} AND ts < ${to}
          GROUP BY 1, org_id, project_id, provider, model, environment`.execute(trx);
        await saveWatermark(trx, r.name, to);
      });
    }
    results.push({ rollup: r.name, from, to, skipped: false });
  }
  recentWatermarks.delete(handle);
  return results;
}

async function saveWatermark(db: Kysely<Database>, rollup: RollupName, to: Date): Promise<void> {
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
  for (const r of ROLLUPS) {
    await sql`DELETE FROM ${sql.table(r.name)} WHERE bucket < ${cutoff}`.execute(handle.db);
  }
  return total;
}

export interface MaintenanceLogger {
  warn(obj: object, msg: string): void;
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
        await refreshRollups(handle);
        await applyRetention(handle, opts.retentionDays);
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
