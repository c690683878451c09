import type { Scope } from './auth/viewer';
import type { Config } from './config';
import type { DatabaseHandle } from './db/database';
import { createProjectByIdLoader } from './modules/projects/loaders/project-by-id';
import { createProjectStatsByRangeLoader } from './modules/projects/loaders/project-stats-by-range';
import { createScoresByTraceIdLoader } from './modules/quality/loaders/scores-by-trace-id';
import { createSessionByIdLoader } from './modules/sessions/loaders/session-by-id';
import { createSpansByTraceIdLoader } from './modules/traces/loaders/spans-by-trace-id';

/** A fresh set per request: batching within one request, no caching across viewers. */
export function createLoaders(deps: { database: DatabaseHandle; config: Pick<Config, 'analytics'> }, scope: Scope) {
  const db = deps.database.readDb;
  return {
    projectById: createProjectByIdLoader(db, scope),
    projectStatsByRange: createProjectStatsByRangeLoader(deps, scope),
    scoresByTraceId: createScoresByTraceIdLoader(db, scope),
    sessionById: createSessionByIdLoader(db, scope),
    spansByTraceId: createSpansByTraceIdLoader(db, scope),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
