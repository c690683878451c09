import type { LogEvent } from 'kysely';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/database';
import { maintenanceTask } from '../db/maintenance-scope';
import { ErrorCode, fromDatabaseError } from '../shared/errors';
import { BoundedLabel } from './labels';
import { dbErrorsTotal, dbQueriesTotal, dbQueryDuration, observePool } from './metrics';

const QUERY_NAME = /\/\*\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\*\//;
/** The first keyword, past any leading comments (a name may be put in front, too). */
const FIRST_WORD = /^\s*(?:\/\*[\s\S]*?\*\/\s*|--[^\n]*\n\s*)*([A-Za-z]+)/;
const KEYWORDS = new Set([
  'select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback', 'savepoint', 'release',
  'set', 'show', 'call', 'create', 'alter', 'drop', 'refresh', 'lock', 'copy', 'explain', 'analyze', 'vacuum', 'truncate',
]);
const OPERATIONS = new Set(['select', 'insert', 'update', 'delete']);
const queryNames = new BoundedLabel(200, 64);

export interface QueryLabels {
  /** The repository function's name from its `/* name *\/` comment, else the first keyword. */
  readonly query: string;
  /** select, insert, update, delete or other. */
  readonly operation: string;
}

export function labelQuery(sqlText: string): QueryLabels {
  const word = FIRST_WORD.exec(sqlText)?.[1]?.toLowerCase() ?? '';
  const keyword = KEYWORDS.has(word) ? word : 'other';
  const named = QUERY_NAME.exec(sqlText)?.[1];
  return {
    query: named ? queryNames.of(named) : keyword,
    operation: OPERATIONS.has(keyword) ? keyword : 'other',
  };
}

/** A small closed set: enough to tell timeouts from outages from bugs on a dashboard. */
export function databaseErrorType(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (message.includes('timeout exceeded when trying to connect')) return 'pool_timeout';
  if (code === '57014') return 'statement_timeout';
  if (code === '40001' || code === '40P01') return 'serialization';
  if (code.startsWith('23')) return 'constraint';
  // Every class fromDatabaseError calls "unavailable" (resets, EPIPE, terminated backends, dead
  // clients, ended pools), plus a database that does not exist.
  if (code === '3D000' || fromDatabaseError(err)?.extensions.code === ErrorCode.SERVICE_UNAVAILABLE) return 'connection';
  if (code.startsWith('42') || code.startsWith('22')) return 'query';
  return 'other';
}

// Label children resolved once per query name (a bounded set: queryNames) and operation: on the
// statement path an observation is then a map lookup, not prom-client's label validation and hashing.
const durations = new Map<string, { observe(v: number): void }>();
const counts = new Map<string, { inc(): void }>();
function durationOf(query: string): { observe(v: number): void } {
  let child = durations.get(query);
  if (!child) durations.set(query, (child = dbQueryDuration.labels({ query })));
  return child;
}
function countOf(operation: string): { inc(): void } {
  let child = counts.get(operation);
  if (!child) counts.set(operation, (child = dbQueriesTotal.labels({ operation })));
  return child;
}

export interface DatabaseTelemetryOptions {
  readonly logger: Logger;
  /** Statements at or above this many milliseconds are logged; 0 turns the log off. */
  readonly slowQueryMs: number;
  readonly metrics: boolean;
}

/**
 * Subscribes metrics, the slow-query log and pool gauges to a database handle; the returned
 * function unsubscribes (on shutdown, so a stopped gateway's pools leave the gauges).
 */
export function instrumentDatabase(handle: DatabaseHandle, opts: DatabaseTelemetryOptions): () => void {
  const { logger, slowQueryMs, metrics } = opts;
  const onQuery = (event: LogEvent) => {
    // Runs inside Kysely's execution path: it must be cheap and must never throw.
    try {
      const labels = labelQuery(event.query.sql);
      if (metrics) {
        durationOf(labels.query).observe(event.queryDurationMillis / 1000);
        countOf(labels.operation).inc();
        if (event.level === 'error') dbErrorsTotal.inc({ error_type: databaseErrorType(event.error) });
      }
      if (slowQueryMs > 0 && event.queryDurationMillis >= slowQueryMs) {
        const fields = { query: labels.query, operation: labels.operation, durationMs: Math.round(event.queryDurationMillis), failed: event.level === 'error' };
        // The gateway's own migrations, ANALYZE and rollup CALLs are slow by nature: debug only.
        const task = maintenanceTask();
        if (task) logger.debug({ ...fields, task }, 'slow maintenance statement');
        else logger.warn(fields, 'slow query');
      }
    } catch {
      // Telemetry must not fail a query.
    }
  };
  const disposers = [handle.addQueryListener(onQuery)];
  if (metrics) {
    disposers.push(
      handle.addPoolErrorListener((err) => dbErrorsTotal.inc({ error_type: databaseErrorType(err) })),
      observePool('primary', handle.pool),
    );
    if (handle.readPool !== handle.pool) disposers.push(observePool('replica', handle.readPool));
  }
  return () => {
    for (const dispose of disposers) dispose();
  };
}
