import type { Scope } from './auth/viewer';
import type { DatabaseHandle } from './db/database';
import { createProjectByIdLoader } from './modules/projects/loaders/project-by-id';
import { createProjectStatsByRangeLoader } from './modules/projects/loaders/project-stats-by-range';
import { createScoresByTraceIdLoader } from './modules/quality/loaders/scores-by-trace-id';
import { createSessionByIdLoader } from './modules/sessions/loaders/session-by-id';
import { createSpansByTraceIdLoader } from './modules/traces/loaders/spans-by-trace-id';

/** A fresh set per request: batching within one request, no caching across viewers. */
export function createLoaders(database: DatabaseHandle, scope: Scope, exactPercentilesMaxMs = 0) {
  const db = database.readDb;
  return {
    projectById: createProjectByIdLoader(db, scope),
    projectStatsByRange: createProjectStatsByRangeLoader(database, scope, exactPercentilesMaxMs),
    scoresByTraceId: createScoresByTraceIdLoader(db, scope),
    sessionById: createSessionByIdLoader(db, scope),
    spansByTraceId: createSpansByTraceIdLoader(db, scope),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
