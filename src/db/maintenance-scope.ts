import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks the gateway's own database work — migrations, demo data, rollup refreshes and
 * retention — so that telemetry can tell it from request queries: a migration's CREATE, an
 * ANALYZE or a `CALL refresh_continuous_aggregate` is slow by nature, not a slow query to warn
 * about. The mark follows the async context of the work, so concurrent requests stay unmarked.
 */
const scope = new AsyncLocalStorage<{ readonly task: string }>();

export function asMaintenance<T>(task: string, fn: () => Promise<T>): Promise<T> {
  return scope.run({ task }, fn);
}

/** The maintenance task the current code runs for, if any. */
export const maintenanceTask = (): string | undefined => scope.getStore()?.task;
