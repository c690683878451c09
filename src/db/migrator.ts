import { Migrator, NO_MIGRATIONS, type MigrationResult } from 'kysely';
import { allMigrations } from '../../db/migrations';
import type { DatabaseHandle } from './database';

function migratorFor(handle: DatabaseHandle): Migrator {
  return new Migrator({
    db: handle.db,
    provider: { getMigrations: async () => allMigrations({ timescale: handle.timescale }) },
  });
}

function check(results: MigrationResult[] | undefined, error: unknown): MigrationResult[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const err = error instanceof Error ? error : new Error(String(error));
    if (failed) err.message = `migration ${failed.migrationName} failed: ${err.message}`;
    throw err;
  }
  return results ?? [];
}

/** Applies every pending migration; running it again is a no-op. */
export async function migrateToLatest(handle: DatabaseHandle): Promise<MigrationResult[]> {
  const { error, results } = await migratorFor(handle).migrateToLatest();
  return check(results, error);
}

/** Undoes every migration (tests and `npm run db:migrate -- --down`). */
export async function migrateAllDown(handle: DatabaseHandle): Promise<MigrationResult[]> {
  const { error, results } = await migratorFor(handle).migrateTo(NO_MIGRATIONS);
  return check(results, error);
}

export interface MigrationState {
  readonly name: string;
  /** When it was applied; absent: pending. */
  readonly executedAt?: Date;
}

/** Every known migration, applied or pending, in order; reads only (creates no table). */
export async function migrationStatus(handle: DatabaseHandle): Promise<MigrationState[]> {
  const infos = await migratorFor(handle).getMigrations();
  return infos.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}
