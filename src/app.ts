import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { AppServices } from './context';
import { openDatabase, type DatabaseHandle } from './db/database';
import { startSearchIndexer } from './db/search-indexer';
import { asMaintenance } from './db/maintenance-scope';
import { migrateToLatest, migrationStatus } from './db/migrator';
import { assertPortFree, listen } from './http/port';
import { startRollupMaintenance } from './db/rollup-refresh';
import { ensureDemoData, type DemoKey } from './demo/demo-bootstrap';
import { createGatewayServer, type GatewayServer } from './server';
import { exportQueueProbe, redisProbe, type ReadinessProbe } from './health';
import { startExportSystem, type ExportSystem } from './modules/exports/export-system';
import type { RedisConnection } from './redis/redis-connection';
import { connectRedisWithLogs } from './redis/logged-connection';
import { redactUrl } from './shared/redact-url';
import { instrumentDatabase } from './telemetry/database-metrics';
import { observeEmbeddedMemory, observeRedisCircuit } from './telemetry/metrics';
import { createMetricsServer } from './telemetry/metrics-server';
import { createFieldCache, startCacheWarming, type WarmingRun } from './cache';
import { createAuthenticator } from './auth';
import { createIngestServices } from './ingest';
import { startLiveDemo, type LiveDemo } from './demo/live-demo';

export interface RunningGateway {
  readonly url: string;
  /** The bundled GraphiQL (absent when PLAYGROUND_ENABLED=false). */
  readonly playgroundUrl?: string;
  readonly port: number;
  readonly services: AppServices;
  readonly server: GatewayServer;
  readonly demoKeys: DemoKey[];
  /** Set when METRICS_PORT puts /metrics on its own listener. */
  readonly metricsUrl?: string;
  /** POST here to ingest OTLP spans (absent when OTLP_ENABLED=false). */
  readonly otlpUrl?: string;
  /** The live demo generator (embedded demo with DEMO_LIVE on). */
  readonly liveDemo?: LiveDemo;
  /** Settles when the start-up cache warming is done (absent when warming is off). */
  readonly cacheWarming?: WarmingRun['done'];
  /** What the start-up banner reports (main.ts). */
  readonly startup: StartupReport;
  stop(): Promise<void>;
}

export interface StartupReport {
  /** Every applied migration, in order, and those this start applied. */
  readonly migrations: { readonly applied: readonly string[]; readonly appliedNow: readonly string[] };
  /** Active (unrevoked) API keys, and the orgs that exist: a first start has neither key nor hint. */
  readonly activeApiKeys: number;
  readonly orgIds: readonly string[];
  /** Redis at start: absent (no REDIS_URL), connected, or unreachable (limits and cache per instance). */
  readonly redis: 'none' | 'connected' | 'unreachable';
}

/** What a start has opened so far: released in reverse when a later step fails, and by stop(). */
interface Opened {
  readonly database: DatabaseHandle;
  readonly uninstrument: () => void;
  readonly unobserveEmbedded: () => void;
  unobserveCircuit: () => void;
  redis?: RedisConnection;
  fieldCache?: ReturnType<typeof createFieldCache>;
  exportSystem?: ExportSystem;
  metricsServer?: http.Server;
}

/** A start failed part way: close what was opened, ignoring further errors. */
async function releaseAfterFailedStart(o: Opened): Promise<void> {
  if (o.metricsServer) await closeServer(o.metricsServer).catch(() => undefined);
  await o.exportSystem?.stop().catch(() => undefined);
  o.unobserveCircuit();
  o.unobserveEmbedded();
  await o.fieldCache?.close().catch(() => undefined);
  await o.redis?.close().catch(() => undefined);
  o.uninstrument();
  await o.database.close().catch(() => undefined);
}

/** Migrations, then (embedded, DEMO_DATA) the demo data and its keys. */
async function prepareDatabase(config: Config, database: DatabaseHandle, logger: Logger, inMemory: boolean | undefined) {
  // The gateway's own statements (CREATE, ANALYZE, CALL): not logged as slow queries.
  const appliedNow = (await asMaintenance('migrations', () => migrateToLatest(database))).map((r) => r.migrationName);
  let demoKeys: DemoKey[] = [];
  if (database.mode === 'embedded' && config.demo.enabled) {
    demoKeys = await asMaintenance('demo data', () =>
      ensureDemoData(database, { dataDir: inMemory ? null : config.dataDir, traces: config.demo.traces, days: config.demo.days, logger }),
    );
  }
  return { appliedNow, demoKeys };
}

/** Migrations, API keys and orgs as the start-up banner reports them (main.ts). */
function readStartupFacts(database: DatabaseHandle) {
  return asMaintenance('start-up report', async () => ({
    applied: (await migrationStatus(database)).filter((m) => m.executedAt).map((m) => m.name),
    activeApiKeys: Number((await database.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).where('revoked_at', 'is', null).executeTakeFirst())?.n ?? 0),
    orgIds: (await database.db.selectFrom('orgs').select('id').orderBy('id').limit(20).execute()).map((o) => o.id),
  }));
}

/** Redis, the field cache, the export queue and workers, authentication and ingestion. */
async function buildServices(config: Config, logger: Logger, o: Opened): Promise<{ services: AppServices; redisAtStart: StartupReport['redis'] }> {
  const { database } = o;
  o.redis = await connectRedisWithLogs(config, logger);
  const redisAtStart: StartupReport['redis'] = !o.redis ? 'none' : o.redis.client.isReady ? 'connected' : 'unreachable';
  const liveRedis = o.redis;
  if (liveRedis) o.unobserveCircuit = observeRedisCircuit(() => liveRedis.circuit());
  o.fieldCache = createFieldCache(config, o.redis, logger);
  // The queue (pg-boss in the same database) and this instance's export workers.
  o.exportSystem = await startExportSystem({ config, database, logger });
  const base = { config, database, logger, redis: o.redis, cache: o.fieldCache, exports: o.exportSystem };
  const authenticator = createAuthenticator(base);
  const ingest = config.ingest.enabled ? createIngestServices({ config, database, logger, authenticator }) : undefined;
  return { services: { ...base, authenticator, ingest }, redisAtStart };
}

function readinessProbes(config: Config, services: AppServices): ReadinessProbe[] {
  const probes: ReadinessProbe[] = [];
  if (services.redis) probes.push(redisProbe(services.redis, config.telemetry.healthCheckTimeoutMs));
  probes.push(exportQueueProbe(services.exports!, config.exports.workerEnabled));
  return probes;
}

/** The public listener, then (METRICS_PORT) the metrics listener; the URLs they answer on. */
async function listenAll(config: Config, services: AppServices, o: Opened) {
  const server = await createGatewayServer(services, readinessProbes(config, services));
  await listen(server.httpServer, config.port, config.host);
  const port = (server.httpServer.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let metricsUrl: string | undefined;
  if (config.telemetry.metrics.enabled && config.telemetry.metrics.port !== undefined) {
    o.metricsServer = createMetricsServer();
    await listen(o.metricsServer, config.telemetry.metrics.port, config.host, 'metrics');
    metricsUrl = `http://${host}:${(o.metricsServer.address() as AddressInfo).port}/metrics`;
  }
  return { server, port, host, metricsUrl };
}

/** Embedded demo with DEMO_LIVE: synthetic calls sent to this very listener's /v1/traces. */
async function startDemoTraffic(config: Config, database: DatabaseHandle, logger: Logger, demoKeys: DemoKey[], listener: { host: string; port: number }): Promise<LiveDemo | undefined> {
  const key = demoKeys.find((k) => k.role === 'INGEST') ?? demoKeys.find((k) => k.role === 'DEVELOPER');
  if (!key || !config.demo.live) return undefined;
  const projectIds = (await asMaintenance('live demo', () => database.db.selectFrom('projects').select('id').where('org_id', '=', key.orgId).orderBy('id').execute())).map((p) => p.id);
  // The generator talks to this listener; 127.0.0.1 whatever HOST is, unless bound elsewhere.
  const local = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : listener.host;
  if (!projectIds.length) return undefined;
  return startLiveDemo({ endpoint: `http://${local}:${listener.port}/v1/traces`, key: key.key, projectIds, perSecond: config.demo.livePerSecond, logger });
}

interface StopParts {
  readonly config: Config;
  readonly logger: Logger;
  readonly services: AppServices;
  readonly server: GatewayServer;
  readonly opened: Opened;
  readonly background: { readonly warming?: WarmingRun; readonly liveDemo?: LiveDemo; readonly maintenance: { stop(): Promise<void> }; readonly searchIndexer: { stop(): Promise<void> } };
}

/** Stops in order: drain HTTP (beside warming, maintenance, exports), database, cache, Redis, metrics listener. */
async function stopAll({ config, logger, services, server, opened: o, background: b }: StopParts): Promise<void> {
  // Readiness turns 503 at once: the drain starts first; warming and maintenance stop beside it.
  b.warming?.stop();
  await b.liveDemo?.stop();
  // Export attempts stop at their next batch and return to the queue while HTTP drains.
  await Promise.all([server.shutdown(config.http.shutdownTimeoutMs), b.warming?.done, b.maintenance.stop(), b.searchIndexer.stop(), services.exports?.stop()]);
  logger.debug('HTTP server closed');
  await o.database.close();
  // The cache's invalidation subscriber first: it is a second connection to the same Redis.
  await services.cache?.close();
  await o.redis?.close();
  o.unobserveCircuit();
  o.unobserveEmbedded();
  o.uninstrument();
  logger.debug('database closed');
  // Last, so that a final scrape during the drain still answers.
  if (o.metricsServer) await closeServer(o.metricsServer);
}

/** Everything after the database is open; `o` records what to release if a step fails. */
async function startOnDatabase(config: Config, logger: Logger, o: Opened, inMemory: boolean | undefined): Promise<RunningGateway> {
  const { database } = o;
  const { appliedNow, demoKeys } = await prepareDatabase(config, database, logger, inMemory);
  const { applied, activeApiKeys, orgIds } = await readStartupFacts(database);
  // Plain PostgreSQL: search values are trigram-indexed off the write path (exact meanwhile).
  const searchIndexer = startSearchIndexer(database, { ...config.database.searchIndex, logger });
  const maintenance = startRollupMaintenance(database, { intervalMs: config.database.rollupRefreshIntervalMs, retentionDays: config.database.retentionDays, logger });
  const { services, redisAtStart } = await buildServices(config, logger, o);
  const { server, port, host, metricsUrl } = await listenAll(config, services, o);
  // In the background: a slow or failing warm-up never delays or fails the start.
  const warming: WarmingRun | undefined = config.cache.enabled && config.cache.warmOnStart ? startCacheWarming(services, server.apollo) : undefined;
  const liveDemo = services.ingest ? await startDemoTraffic(config, database, logger, demoKeys, { host, port }) : undefined;
  const background = { warming, liveDemo, maintenance, searchIndexer };
  let stopped = false;
  return {
    url: `http://${host}:${port}/graphql`,
    playgroundUrl: config.playground.enabled ? `http://${host}:${port}/playground` : undefined,
    port,
    services,
    server,
    demoKeys,
    metricsUrl,
    otlpUrl: services.ingest ? `http://${host}:${port}/v1/traces` : undefined,
    liveDemo,
    cacheWarming: warming?.done,
    startup: { migrations: { applied, appliedNow }, activeApiKeys, orgIds, redis: redisAtStart },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopAll({ config, logger, services, server, opened: o, background });
    },
  };
}

/** config → ports → db → migrations → (demo data) → maintenance → HTTP. main.ts and e2e tests share it. */
export async function startGateway(
  config: Config,
  logger: Logger,
  /** onDatabase: told the handle as soon as it is open (bench/embedded-phases.ts samples memory through it). */
  opts: { inMemory?: boolean; onDatabase?: (database: DatabaseHandle) => void } = {},
): Promise<RunningGateway> {
  // Before anything slow: a port in use fails the start at once (http/port.ts).
  await assertPortFree(config.port, config.host);
  if (config.telemetry.metrics.enabled && config.telemetry.metrics.port !== undefined) await assertPortFree(config.telemetry.metrics.port, config.host, 'metrics');
  const database = await openDatabase(config, { inMemory: opts.inMemory, logger });
  opts.onDatabase?.(database);
  const opened: Opened = {
    database,
    uninstrument: instrumentDatabase(database, { logger, slowQueryMs: config.telemetry.slowQueryMs, metrics: config.telemetry.metrics.enabled }),
    unobserveEmbedded: database.mode === 'embedded' ? observeEmbeddedMemory(() => database.embeddedMemory()) : () => undefined,
    unobserveCircuit: () => undefined,
  };
  try {
    return await startOnDatabase(config, logger, opened, opts.inMemory);
  } catch (err) {
    await releaseAfterFailedStart(opened);
    throw err;
  }
}


function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
