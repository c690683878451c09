/**
 * Deferred index builds for bulk loads. Maintaining the 14 indexes of `traces` row by row
 * costs several times more than building them once, sorted, after the load (measured on 1M
 * rows: COPY with indexes 86 s, COPY without them 11 s plus 17 s of btree builds). Drop and
 * rebuild happen inside the load's transaction, so a failed load rolls the drop back too;
 * the price is an ACCESS EXCLUSIVE lock on the table until commit.
 */

/** Runs one statement on the loading connection (inside its transaction) and returns its rows. */
export type SqlRunner = (text: string) => Promise<Array<Record<string, unknown>>>;

/** Below this, rebuilding would cost more than it saves. */
export const BULK_LOAD_MIN_ROWS = 50_000;

/** true / false force the choice; 'auto' defers for bulk loads only. */
export type IndexDeferral = boolean | 'auto';

export async function shouldDeferIndexes(run: SqlRunner, table: string, incoming: number, mode: IndexDeferral): Promise<boolean> {
  return mode === 'auto' ? isBulkLoad(run, table, incoming) : mode;
}

/** Worth deferring when the load is large and at least as big as what is already there. */
export async function isBulkLoad(run: SqlRunner, table: string, incoming: number): Promise<boolean> {
  if (incoming < BULK_LOAD_MIN_ROWS) return false;
  // Bounded count: stops reading as soon as the table is known to be larger than the load.
  const rows = await run(`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${table} LIMIT ${Math.floor(incoming) + 1}) t`);
  return Number(rows[0]?.n ?? 0) <= incoming;
}

/** Drops every index not backing a constraint and returns the statements that recreate them. */
export async function dropSecondaryIndexes(run: SqlRunner, table: string): Promise<string[]> {
  const rows = await run(
    `SELECT x.indexrelid::regclass::text AS name, pg_get_indexdef(x.indexrelid) AS def
       FROM pg_index x
      WHERE x.indrelid = '${table}'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
      ORDER BY 1`,
  );
  for (const r of rows) await run(`DROP INDEX ${String(r.name)}`);
  return rows.map((r) => String(r.def));
}

export async function rebuildIndexes(run: SqlRunner, definitions: readonly string[], maintenanceWorkMem: string): Promise<void> {
  if (definitions.length === 0) return;
  // Sort-based and GIN builds want memory; SET LOCAL ends with the transaction.
  await run(`SET LOCAL maintenance_work_mem = '${maintenanceWorkMem}'`);
  for (const def of definitions) await run(def);
}
