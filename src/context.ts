import type { Logger } from 'pino';
import type { Config } from './config';
import type { DatabaseHandle } from './db/database';
import type { RedisConnection } from './redis/redis-connection';
import type { FieldCache } from './cache/field-cache';
import type { Authenticator } from './auth/authenticator';
import { scopeOf, type Scope, type Viewer } from './auth/viewer';
import { createLoaders, type Loaders } from './loaders';

/** Long-lived dependencies shared by every request. */
export interface AppServices {
  readonly config: Config;
  readonly database: DatabaseHandle;
  readonly logger: Logger;
  /** Present when REDIS_URL is set; may be disconnected at any moment (check isReady()). */
  readonly redis?: RedisConnection;
  /** The per-field cache (src/cache); absent only in tools that build services by hand. */
  readonly cache?: FieldCache;
  /** This instance's credential lookups; key management forgets a revoked key here at once. */
  readonly authenticator?: Authenticator;
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
