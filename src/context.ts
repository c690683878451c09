import type { Logger } from 'pino';
import type { Config } from './config';
import type { DatabaseHandle } from './db/database';
import { scopeOf, type Scope, type Viewer } from './auth/viewer';
import { createLoaders, type Loaders } from './loaders';

/** Long-lived dependencies shared by every request. */
export interface AppServices {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly logger: Logger;
}

/** Built once per request and never mutated by resolvers. */
export interface RequestContext {
  readonly requestId: string;
  readonly viewer: Viewer;
  readonly scope: Scope;
  readonly services: AppServices;
  readonly loaders: Loaders;
  readonly logger: Logger;
}

export function createRequestContext(services: AppServices, viewer: Viewer, requestId: string): RequestContext {
  const scope = scopeOf(viewer);
  return {
    requestId,
    viewer,
    scope,
    services,
    loaders: createLoaders(services, scope),
    logger: services.logger.child({ requestId }),
  };
}
