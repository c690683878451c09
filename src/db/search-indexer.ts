import { sql } from 'kysely';
import type { DatabaseHandle } from './database';
import { asMaintenance } from './maintenance-scope';

/**
 * The search indexer of plain PostgreSQL (migration 20261215010000_deferred_search): moves rows
 * from `trace_search_pending` into `trace_search` (their search values, trigram-indexed) in
 * batches, each batch one transaction — the delete from pending and the insert commit
 * together, so a search (indexed part ∪ exact scan of pending) sees every row exactly once.
 * Instances coordinate with a transaction-level advisory lock: one indexes, the others skip.
 * Search never waits for it; a lagging indexer only makes the exact tail scan longer.
 */
export const SEARCH_INDEX_LOCK_KEY = 0x7365_6172; // 'sear'

export interface IndexTurn {
  /** The lock was taken (another instance is indexing otherwise). */
  readonly ran: boolean;
  /** Rows moved into the index. */
  readonly moved: number;
}

export async function indexSearchTail(handle: DatabaseHandle, maxRows: number): Promise<IndexTurn> {
  if (handle.mode !== 'postgres') return { ran: false, moved: 0 };
  return handle.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${SEARCH_INDEX_LOCK_KEY}) AS locked`.execute(trx);
    if (!rows[0]?.locked) return { ran: false, moved: 0 };
    // ON CONFLICT … UPDATE: a row re-enqueued by an update carries new values.
    const res = await sql`/* indexSearchTail */
      WITH moved AS (
        DELETE FROM trace_search_pending
         WHERE ctid = ANY (ARRAY(SELECT ctid FROM trace_search_pending LIMIT ${maxRows}))
        RETURNING id)
      INSERT INTO trace_search (id, v)
      SELECT t.id, trace_search_values(t.input, t.output, t.model, t.user_id, t.metadata)
        FROM traces t WHERE t.id IN (SELECT id FROM moved)
      ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v`.execute(trx);
    return { ran: true, moved: Number(res.numAffectedRows ?? 0) };
  });
}

export interface SearchIndexerOptions {
  /** Pause between turns that found less than a full batch; 0 turns the indexer off. */
  readonly intervalMs: number;
  readonly batchRows: number;
  readonly logger: { warn(obj: object, msg: string): void };
}

/** Runs turns back to back while full batches are waiting, otherwise every `intervalMs`. */
export function startSearchIndexer(handle: DatabaseHandle, opts: SearchIndexerOptions): { stop(): Promise<void>; turns(): number } {
  if (handle.mode !== 'postgres' || opts.intervalMs === 0) return { stop: async () => undefined, turns: () => 0 };
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let turns = 0;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(run, ms);
    timer.unref();
  };
  const run = () => {
    timer = null;
    running = asMaintenance('search indexing', async () => {
      let next = opts.intervalMs;
      try {
        const t = await indexSearchTail(handle, opts.batchRows);
        turns++;
        if (t.ran && t.moved >= opts.batchRows) next = 0;
      } catch (err) {
        opts.logger.warn({ err }, 'search indexing failed; will retry');
      } finally {
        running = null;
        schedule(next);
      }
    });
  };
  schedule(opts.intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
    },
    turns: () => turns,
  };
}
