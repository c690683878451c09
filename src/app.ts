import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { AppServices } from './context';
import { openDatabase } from './db/database';
import { migrateToLatest } from './db/migrator';
import { startRollupMaintenance } from './db/rollup-refresh';
import { ensureDemoData, type DemoKey } from './demo/demo-bootstrap';
import { createGatewayServer, type GatewayServer } from './server';
import { exportQueueProbe, redisProbe, type ReadinessProbe } from './health';
import { startExportSystem, type ExportSystem } from './modules/exports/export-system';
import { connectRedis, type RedisConnection } from './redis/redis-connection';
import { instrumentDatabase } from './telemetry/database-metrics';
import { observeRedisCircuit, redisCircuitOpenedTotal } from './telemetry/metrics';
import { createMetricsServer } from './telemetry/metrics-server';
import { createFieldCache, startCacheWarming, type WarmingRun } from './cache';
import { createAuthenticator } from './auth';

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
  /** Settles when the start-up cache warming is done (absent when warming is off). */
  readonly cacheWarming?: WarmingRun['done'];
  stop(): Promise<void>;
}

/** config → db → migrations → (demo data) → maintenance → HTTP. main.ts and e2e tests share it. */
export async function startGateway(config: Config, logger: Logger, opts: { inMemory?: boolean } = {}): Promise<RunningGateway> {
  const database = await openDatabase(config, { inMemory: opts.inMemory });
  const uninstrument = instrumentDatabase(database, {
    logger,
    slowQueryMs: config.telemetry.slowQueryMs,
    metrics: config.telemetry.metrics.enabled,
  });
  let metricsServer: http.Server | undefined;
  let redis: RedisConnection | undefined;
  let unobserveCircuit: () => void = () => undefined;
  let fieldCache: ReturnType<typeof createFieldCache> | undefined;
  let exportSystem: ExportSystem | undefined;
  try {
    await migrateToLatest(database);
    let demoKeys: DemoKey[] = [];
    if (database.mode === 'embedded' && config.demo.enabled) {
      demoKeys = await ensureDemoData(database, {
        dataDir: opts.inMemory ? null : config.dataDir,
        traces: config.demo.traces,
        days: config.demo.days,
        logger,
      });
    }
    const maintenance = startRollupMaintenance(database, {
      intervalMs: config.database.rollupRefreshIntervalMs,
      retentionDays: config.database.retentionDays,
      logger,
    });
    // One Redis connection per instance for cache and limits; its absence or loss is never fatal.
    redis = config.redisUrl
      ? await connectRedis(config.redisUrl, {
          onError: (err) => logger.debug({ err }, 'redis connection error'),
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
    const liveRedis = redis;
    if (liveRedis) unobserveCircuit = observeRedisCircuit(() => liveRedis.circuit());
    fieldCache = createFieldCache(config, redis, logger);
    // The queue (pg-boss in the same database) and this instance's export workers.
    exportSystem = await startExportSystem({ config, database, logger });
    const base = { config, database, logger, redis, cache: fieldCache, exports: exportSystem };
    const services: AppServices = { ...base, authenticator: createAuthenticator(base) };
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
      await listen(metricsServer, config.telemetry.metrics.port, config.host);
      metricsUrl = `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics`;
    }
    // In the background: a slow or failing warm-up never delays or fails the start.
    const warming: WarmingRun | undefined = config.cache.enabled && config.cache.warmOnStart ? startCacheWarming(services, server.apollo) : undefined;
    let stopped = false;
    return {
      url: `http://${host}:${port}/graphql`,
      playgroundUrl: config.playground.enabled ? `http://${host}:${port}/playground` : undefined,
      port,
      services,
      server,
      demoKeys,
      metricsUrl,
      cacheWarming: warming?.done,
      async stop() {
        if (stopped) return;
        stopped = true;
        // Readiness turns 503 at once: the drain starts first; warming and maintenance stop beside it.
        warming?.stop();
        // Export attempts stop at their next batch and return to the queue while HTTP drains.
        await Promise.all([server.shutdown(config.http.shutdownTimeoutMs), warming?.done, maintenance.stop(), services.exports?.stop()]);
        logger.debug('HTTP server closed');
        await database.close();
        // The cache's invalidation subscriber first: it is a second connection to the same Redis.
        await services.cache?.close();
        await redis?.close();
        unobserveCircuit();
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
    await fieldCache?.close().catch(() => undefined);
    await redis?.close().catch(() => undefined);
    uninstrument();
    await database.close().catch(() => undefined);
    throw err;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
