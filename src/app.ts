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
import { connectRedis, type RedisConnection } from './redis/redis-connection';
import { instrumentDatabase } from './telemetry/database-metrics';
import { observeEmbeddedMemory, observeRedisCircuit, redisCircuitOpenedTotal } from './telemetry/metrics';
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
  const database = await openDatabase(config, { inMemory: opts.inMemory });
  opts.onDatabase?.(database);
  const uninstrument = instrumentDatabase(database, {
    logger,
    slowQueryMs: config.telemetry.slowQueryMs,
    metrics: config.telemetry.metrics.enabled,
  });
  let metricsServer: http.Server | undefined;
  let redis: RedisConnection | undefined;
  let unobserveCircuit: () => void = () => undefined;
  const unobserveEmbedded = database.mode === 'embedded' ? observeEmbeddedMemory(() => database.embeddedMemory()) : () => undefined;
  let fieldCache: ReturnType<typeof createFieldCache> | undefined;
  let exportSystem: ExportSystem | undefined;
  try {
    // The gateway's own statements (CREATE, ANALYZE, CALL): not logged as slow queries.
    const appliedNow = (await asMaintenance('migrations', () => migrateToLatest(database))).map((r) => r.migrationName);
    let demoKeys: DemoKey[] = [];
    if (database.mode === 'embedded' && config.demo.enabled) {
      demoKeys = await asMaintenance('demo data', () =>
        ensureDemoData(database, {
          dataDir: opts.inMemory ? null : config.dataDir,
          traces: config.demo.traces,
          days: config.demo.days,
          logger,
        }),
      );
    }
    const { applied, activeApiKeys, orgIds } = await asMaintenance('start-up report', async () => ({
      applied: (await migrationStatus(database)).filter((m) => m.executedAt).map((m) => m.name),
      activeApiKeys: Number((await database.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).where('revoked_at', 'is', null).executeTakeFirst())?.n ?? 0),
      orgIds: (await database.db.selectFrom('orgs').select('id').orderBy('id').limit(20).execute()).map((o) => o.id),
    }));
    // Plain PostgreSQL: search values are trigram-indexed off the write path (exact meanwhile).
    const searchIndexer = startSearchIndexer(database, { ...config.database.searchIndex, logger });
    const maintenance = startRollupMaintenance(database, {
      intervalMs: config.database.rollupRefreshIntervalMs,
      retentionDays: config.database.retentionDays,
      logger,
    });
    // One Redis connection per instance for cache and limits; its absence or loss is never fatal.
    // Unreachable Redis: warn once when it goes (or is gone at start), info when it is back.
    let redisDown = false;
    redis = config.redisUrl
      ? await connectRedis(config.redisUrl, {
          onError: (err) => {
            if (redisDown) return logger.debug({ err }, 'redis connection error');
            redisDown = true;
            logger.warn({ err: { message: err.message }, redis: redactUrl(config.redisUrl!) }, 'redis unreachable: rate limits use per-instance memory and the cache is skipped until it answers');
          },
          breakerThreshold: config.redisBreaker.threshold,
          breakerProbeIntervalMs: config.redisBreaker.probeIntervalMs,
          breakerProbeTimeoutMs: config.telemetry.healthCheckTimeoutMs,
          onCircuitChange: (state) => {
            if (state.state === 'open') {
              if (config.telemetry.metrics.enabled) redisCircuitOpenedTotal.inc();
              logger.warn({ circuit: state }, 'redis stopped answering: circuit breaker open, limits and cache use their fallbacks');
            } else {
              logger.info({ circuit: state }, 'redis answers again: circuit breaker closed');
            }
          },
        })
      : undefined;
    const redisAtStart: StartupReport['redis'] = !redis ? 'none' : redis.client.isReady ? 'connected' : 'unreachable';
    redis?.client.on('ready', () => {
      if (!redisDown) return;
      redisDown = false;
      logger.info('redis connected: shared rate limits and cache in use');
    });
    const liveRedis = redis;
    if (liveRedis) unobserveCircuit = observeRedisCircuit(() => liveRedis.circuit());
    fieldCache = createFieldCache(config, redis, logger);
    // The queue (pg-boss in the same database) and this instance's export workers.
    exportSystem = await startExportSystem({ config, database, logger });
    const base = { config, database, logger, redis, cache: fieldCache, exports: exportSystem };
    const authenticator = createAuthenticator(base);
    const ingest = config.ingest.enabled ? createIngestServices({ config, database, logger, authenticator }) : undefined;
    const services: AppServices = { ...base, authenticator, ingest };
    const probes: ReadinessProbe[] = [];
    if (liveRedis) probes.push(redisProbe(liveRedis, config.telemetry.healthCheckTimeoutMs));
    probes.push(exportQueueProbe(exportSystem, config.exports.workerEnabled));
    const server = await createGatewayServer(services, probes);
    await listen(server.httpServer, config.port, config.host);
    const port = (server.httpServer.address() as AddressInfo).port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    let metricsUrl: string | undefined;
    if (config.telemetry.metrics.enabled && config.telemetry.metrics.port !== undefined) {
      metricsServer = createMetricsServer();
      await listen(metricsServer, config.telemetry.metrics.port, config.host, 'metrics');
      metricsUrl = `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics`;
    }
    // In the background: a slow or failing warm-up never delays or fails the start.
    const warming: WarmingRun | undefined = config.cache.enabled && config.cache.warmOnStart ? startCacheWarming(services, server.apollo) : undefined;
    const otlpUrl = ingest ? `http://${host}:${port}/v1/traces` : undefined;
    let liveDemo: LiveDemo | undefined;
    const demoIngestKey = demoKeys.find((k) => k.role === 'INGEST') ?? demoKeys.find((k) => k.role === 'DEVELOPER');
    if (ingest && demoIngestKey && config.demo.live) {
      const projectIds = (await asMaintenance('live demo', () => database.db.selectFrom('projects').select('id').where('org_id', '=', demoIngestKey.orgId).orderBy('id').execute())).map((p) => p.id);
      // The generator talks to this listener; 127.0.0.1 whatever HOST is, unless bound elsewhere.
      const local = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : host;
      if (projectIds.length) liveDemo = startLiveDemo({ endpoint: `http://${local}:${port}/v1/traces`, key: demoIngestKey.key, projectIds, perSecond: config.demo.livePerSecond, logger });
    }
    let stopped = false;
    return {
      url: `http://${host}:${port}/graphql`,
      playgroundUrl: config.playground.enabled ? `http://${host}:${port}/playground` : undefined,
      port,
      services,
      server,
      demoKeys,
      metricsUrl,
      otlpUrl,
      liveDemo,
      cacheWarming: warming?.done,
      startup: { migrations: { applied, appliedNow }, activeApiKeys, orgIds, redis: redisAtStart },
      async stop() {
        if (stopped) return;
        stopped = true;
        // Readiness turns 503 at once: the drain starts first; warming and maintenance stop beside it.
        warming?.stop();
        await liveDemo?.stop();
        // Export attempts stop at their next batch and return to the queue while HTTP drains.
        await Promise.all([server.shutdown(config.http.shutdownTimeoutMs), warming?.done, maintenance.stop(), searchIndexer.stop(), services.exports?.stop()]);
        logger.debug('HTTP server closed');
        await database.close();
        // The cache's invalidation subscriber first: it is a second connection to the same Redis.
        await services.cache?.close();
        await redis?.close();
        unobserveCircuit();
        unobserveEmbedded();
        uninstrument();
        logger.debug('database closed');
        // Last, so that a final scrape during the drain still answers.
        if (metricsServer) await closeServer(metricsServer);
      },
    };
  } catch (err) {
    if (metricsServer) await closeServer(metricsServer).catch(() => undefined);
    await exportSystem?.stop().catch(() => undefined);
    unobserveCircuit();
    unobserveEmbedded();
    await fieldCache?.close().catch(() => undefined);
    await redis?.close().catch(() => undefined);
    uninstrument();
    await database.close().catch(() => undefined);
    throw err;
  }
}

/** A URL without its password, for logs and banners. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
