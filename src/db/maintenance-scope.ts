import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks the gateway's own database work — migrations, demo data, rollup refreshes and
 * retention — so that telemetry can tell it from request queries: a migration's CREATE, an
 * ANALYZE or a `CALL refresh_continuous_aggregate` is slow by nature, not a slow query to warn
 * about. The mark follows the async context of the work, so concurrent requests stay unmarked.
 *
 * The storage is enabled only while some maintenance runs: an enabled AsyncLocalStorage keeps
 * Node's promise hooks on for every promise of the process (1–2 % of a report request's CPU,
 * plus the garbage), and once enabled it stays so until disabled. When the last run ends, it
 * is disabled again (the hooks go off unless another storage, e.g. tracing's, holds them).
 */
const scope = new AsyncLocalStorage<{ readonly task: string }>();
let running = 0;

export async function asMaintenance<T>(task: string, fn: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await scope.run({ task }, fn);
  } finally {
    if (--running === 0) scope.disable();
  }
}

/** The maintenance task the current code runs for, if any. */
export const maintenanceTask = (): string | undefined => scope.getStore()?.task;
