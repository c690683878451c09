import type { Scope } from './auth/viewer';
import type { Config } from './config';
import type { DatabaseHandle } from './db/database';
import { timedRead } from './db/timed-read';
import { createProjectByIdLoader } from './modules/projects/loaders/project-by-id';
import { createProjectStatsByRangeLoader } from './modules/projects/loaders/project-stats-by-range';
import { createScoresByTraceIdLoader } from './modules/quality/loaders/scores-by-trace-id';
import { createSessionByIdLoader } from './modules/sessions/loaders/session-by-id';
import { createSpansByTraceIdLoader } from './modules/traces/loaders/spans-by-trace-id';
import { createTracesBySessionLoader } from './modules/traces/loaders/traces-by-session';

/**
 * A fresh set per request: batching within one request, no caching across viewers. Every
 * loader reads under the statement timeout of its query class, as the services do.
 */
export function createLoaders(deps: { database: DatabaseHandle; config: Config }, scope: Scope) {
  const simple = timedRead(deps.database, 'simple');
  const aggregate = timedRead(deps.database, 'aggregate');
  return {
    projectById: createProjectByIdLoader(simple, scope),
    projectStatsByRange: createProjectStatsByRangeLoader(deps, scope),
    scoresByTraceId: createScoresByTraceIdLoader(simple, scope),
    // A grouped query over the session's traces, like the sessions list.
    sessionById: createSessionByIdLoader(aggregate, scope),
    spansByTraceId: createSpansByTraceIdLoader(simple, scope),
    tracesBySession: createTracesBySessionLoader({ services: deps, scope }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
