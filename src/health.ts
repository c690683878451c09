import type { DatabaseHandle, PoolRole } from './db/database';
import type { RedisConnection } from './redis/redis-connection';

export type DependencyStatus = { status: 'up' | 'down'; latencyMs: number; error?: string } & Record<string, unknown>;
export interface Readiness {
  status: 'healthy' | 'degraded' | 'unhealthy';
  checks: Record<string, DependencyStatus>;
}

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<{ status: 'up' | 'down'; latencyMs: number; error?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { status: 'down', latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export interface ReadinessProbe {
  name: string;
  /** A down optional dependency degrades; a down required one makes the service unhealthy. */
  required: boolean;
  check: () => Promise<unknown>;
  /** Facts reported beside the status (pool saturation, circuit state); never a failure. */
  details?: () => Record<string, unknown>;
}

/**
 * The database is "down" only when the server does not answer `SELECT 1` on the probe's own
 * connection (DatabaseHandle.ping): a request pool whose every connection is busy is reported in
 * `pool` (saturated, waiting) and stays up, so a load spike never takes every replica out of
 * service at once.
 */
export function databaseProbes(database: DatabaseHandle): ReadinessProbe[] {
  const probe = (name: string, role: PoolRole): ReadinessProbe => ({
    name,
    required: true,
    check: () => database.ping(role),
    details: () => ({ pool: database.saturation(role) }),
  });
  const probes = [probe('database', 'primary')];
  if (database.readDb !== database.db) probes.push(probe('database_replica', 'replica'));
  return probes;
}

export async function checkReadiness(probes: ReadinessProbe[], timeoutMs = 1000): Promise<Readiness> {
  const results = await Promise.all(probes.map(async (p) => [p, await timed(p.check, timeoutMs)] as const));
  const checks: Record<string, DependencyStatus> = {};
  let status: Readiness['status'] = 'healthy';
  for (const [p, r] of results) {
    checks[p.name] = { ...r, ...p.details?.() };
    if (r.status === 'down') status = p.required ? 'unhealthy' : status === 'unhealthy' ? status : 'degraded';
  }
  return { status, checks };
}

/**
 * Optional: a Redis outage degrades the service (DB-only serving) but does not take it out.
 * While the circuit breaker is open the check fails at once (no PING waits on a hung Redis) and
 * `circuit` says since when.
 */
export function redisProbe(redis: Pick<RedisConnection, 'ping' | 'circuit'>, timeoutMs: number): ReadinessProbe {
  return { name: 'redis', required: false, check: () => redis.ping(timeoutMs), details: () => ({ circuit: redis.circuit() }) };
}

/**
 * The export queue: optional (exports wait, nothing else does). Reports how many jobs wait and
 * run, and whether this instance runs workers; down when the queue's tables cannot be read.
 */
export function exportQueueProbe(exports: { depth(): Promise<{ queued: number; active: number }>; concurrency: number; storage: { kind: string; check(): Promise<void> } }, workers: boolean): ReadinessProbe {
  let last: { queued: number; active: number } | undefined;
  return {
    name: 'export_queue',
    required: false,
    check: async () => {
      last = await exports.depth();
      await exports.storage.check();
    },
    details: () => ({ ...(last ?? {}), workers: workers ? exports.concurrency : 0, storage: exports.storage.kind }),
  };
}
