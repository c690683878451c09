import type { Logger } from 'pino';
import type { Config } from './config';
import type { DatabaseHandle } from './db/database';
import type { RedisConnection } from './redis/redis-connection';
import type { FieldCache } from './cache/field-cache';
import type { Authenticator } from './auth/authenticator';
import type { IngestServices } from './ingest';
import type { ExportSystem } from './modules/exports/export-system';
import { scopeOf, type Scope, type Viewer } from './auth/viewer';
import { createLoaders, type Loaders } from './loaders';
import { newOperationRecord, type OperationRecord } from './pipeline/operation-record';

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
  /** OTLP ingestion (POST /v1/traces); absent when OTLP_ENABLED=false or in hand-built services. */
  readonly ingest?: IngestServices;
  /** The export queue, workers and storage (absent in tools that build services by hand). */
  readonly exports?: ExportSystem;
}

/**
 * What a service takes first: the long-lived services it names and the viewer's scope. Every
 * service is called `(ctx, args)`; a RequestContext is one, and loaders and CLIs build one.
 */
export interface ServiceContext<S extends keyof AppServices = 'config' | 'database'> {
  readonly services: Pick<AppServices, S>;
  readonly scope: Scope;
}

/** Built once per request and never mutated by resolvers. */
export interface RequestContext {
  readonly requestId: string;
  readonly viewer: Viewer;
  readonly scope: Scope;
  readonly services: AppServices;
  readonly loaders: Loaders;
  readonly logger: Logger;
  /**
   * The operation record the request pipeline fills stage by stage (src/pipeline). Apollo
   * runs each operation on its own shallow copy of the context, and the pipeline gives each
   * copy a fresh record when the operation starts; resolvers only read it.
   */
  operation: OperationRecord;
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
    operation: newOperationRecord(),
  };
}
