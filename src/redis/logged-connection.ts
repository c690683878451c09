import type { Logger } from 'pino';
import type { Config } from '../config';
import { connectRedis, type RedisConnection } from './redis-connection';
import { redisCircuitOpenedTotal } from '../telemetry/metrics';

import { redactUrl } from '../shared/redact-url';

/**
 * The instance's one Redis connection (cache and limits); its absence or loss is never fatal.
 * Unreachable Redis: warn once when it goes (or is gone at start), info when it is back; the
 * circuit breaker's changes are logged and counted.
 */
export async function connectRedisWithLogs(config: Config, logger: Logger): Promise<RedisConnection | undefined> {
  if (!config.redisUrl) return undefined;
  let redisDown = false;
  const redis = await connectRedis(config.redisUrl, {
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
  });
  redis.client.on('ready', () => {
    if (!redisDown) return;
    redisDown = false;
    logger.info('redis connected: shared rate limits and cache in use');
  });
  return redis;
}
