import type { Kysely } from 'kysely';
import type { Scope } from './auth/viewer';
import type { Database } from './db/schema';
import { createProjectByIdLoader } from './modules/projects/loaders/project-by-id';

/** A fresh set per request: batching within one request, no caching across viewers. */
export function createLoaders(db: Kysely<Database>, scope: Scope) {
  return {
    projectById: createProjectByIdLoader(db, scope),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
