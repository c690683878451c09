import { sql } from 'kysely';
import type { DatabaseHandle } from './db/database';

export type DependencyStatus = { status: 'up' | 'down'; latencyMs: number; error?: string };
export interface Readiness {
  status: 'healthy' | 'degraded' | 'unhealthy';
  checks: Record<string, DependencyStatus>;
}

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<DependencyStatus> {
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
}

export function databaseProbes(database: DatabaseHandle): ReadinessProbe[] {
  const probes: ReadinessProbe[] = [
    { name: 'database', required: true, check: () => sql`SELECT 1`.execute(database.db) },
  ];
  if (database.readDb !== database.db) {
    probes.push({ name: 'database_replica', required: true, check: () => sql`SELECT 1`.execute(database.readDb) });
  }
  return probes;
}

export async function checkReadiness(probes: ReadinessProbe[], timeoutMs = 1000): Promise<Readiness> {
  const results = await Promise.all(probes.map(async (p) => [p, await timed(p.check, timeoutMs)] as const));
  const checks: Record<string, DependencyStatus> = {};
  let status: Readiness['status'] = 'healthy';
  for (const [p, r] of results) {
    checks[p.name] = r;
    if (r.status === 'down') status = p.required ? 'unhealthy' : status === 'unhealthy' ? status : 'degraded';
  }
  return { status, checks };
}

/** Optional: a Redis outage degrades the service (DB-only serving) but does not take it out. */
export function redisProbe(ping: () => Promise<unknown>): ReadinessProbe {
  return { name: 'redis', required: false, check: ping };
}
