import { createApiKey } from '../../src/auth/api-keys';
import type { RunningGateway } from '../../src/app';
import { refreshRollups } from '../../src/db/rollup-refresh';
import { seedDatabase } from '../../db/seed/loader';
import { startTestGateway } from './gateway';
import { createTestDatabase, type TestDatabase } from './postgres';

export type AnalyticsMode = 'embedded' | 'postgres';

export interface AnalyticsFixture {
  gw: RunningGateway;
  keys: Record<string, string>;
  orgs: string[];
  stop(): Promise<void>;
}

/** A gateway on seeded data whose rollups are refreshed up to `now`: the same data in every mode. */
export async function startAnalyticsFixture(
  mode: AnalyticsMode,
  opts: { endAt: Date; now: Date; traces?: number; days?: number; env?: Record<string, string> },
): Promise<AnalyticsFixture> {
  let tdb: TestDatabase | undefined;
  // The search indexer's turns would land in tests that record every statement of a request
  // (CI failed once with its `FROM traces t WHERE t.id IN (…)` among them); search still
  // reads the unindexed tail, so results do not change.
  const env: Record<string, string> = { DEMO_DATA: 'false', SEARCH_INDEX_INTERVAL_MS: '0', ...(opts.env ?? {}) };
  if (mode === 'postgres') {
    tdb = await createTestDatabase('analytics');
    Object.assign(env, { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' });
  }
  const gw = await startTestGateway(env);
  const db = gw.services.database;
  await seedDatabase(db, { traces: opts.traces ?? 12000, days: opts.days ?? 10, orgs: 2, seed: 99, endAt: opts.endAt });
  await refreshRollups(db, opts.now);
  const orgs = (await db.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((o) => o.id);
  const keys: Record<string, string> = {};
  for (const org of orgs) {
    for (const role of ['ADMIN', 'VIEWER'] as const) {
      keys[`${org}:${role}`] = (await createApiKey(db.db, { orgId: org, name: `${role} key`, role })).key;
    }
  }
  return {
    gw,
    keys,
    orgs,
    async stop() {
      await gw.stop();
      await tdb?.drop();
    },
  };
}

/**
 * Where two answers differ, as `path: a !== b` lines (empty when equal): integers, strings,
 * booleans and nulls exactly, other numbers within `rel` of each other (sums added in a
 * different order differ in their last bits; rounding both to fixed digits would still split
 * two values on either side of a rounding boundary, e.g. 0.68175781249… and 0.68175781250…).
 */
export function deepDifferences(a: unknown, b: unknown, rel = 1e-9, path = '$'): string[] {
  if (typeof a === 'number' && typeof b === 'number') {
    const close = a === b || (!(Number.isInteger(a) && Number.isInteger(b)) && Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)));
    return close ? [] : [`${path}: ${a} !== ${b}`];
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}: length ${a.length} !== ${b.length}`];
    return a.flatMap((x, i) => deepDifferences(x, b[i], rel, `${path}[${i}]`));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => deepDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], rel, `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [`${path}: ${JSON.stringify(a)} !== ${JSON.stringify(b)}`];
}
