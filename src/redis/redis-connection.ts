import { createClient } from '@redis/client';
import { CircuitBreaker, type CircuitState } from './circuit-breaker';

export type { CircuitState } from './circuit-breaker';

const makeClient = (url: string, connectTimeout: number) =>
  createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout,
      // Back off to at most 2 s between attempts, forever: Redis is optional, never fatal.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
    },
  });

export type RedisClient = ReturnType<typeof makeClient>;

/**
 * One Redis connection per gateway instance, shared by the per-field cache and the rate
 * limiter. Commands fail fast while Redis is down (no offline queue), so callers fall back to
 * the database or to per-instance memory; the client reconnects by itself, so Redis coming
 * back is used again without a restart.
 *
 * A Redis that hangs (process stopped, connections open) is caught by a circuit breaker: after
 * REDIS_BREAKER_THRESHOLD consecutive command timeouts, isReady() is false, so the limiter and
 * the cache take their fallbacks at once instead of waiting out a timeout per request; a PING
 * every REDIS_BREAKER_PROBE_INTERVAL_MS closes it again once Redis answers.
 */
export interface RedisConnection {
  readonly client: RedisClient;
  /** Connected, and the circuit breaker is closed: use Redis now. */
  isReady(): boolean;
  /** PING with a timeout, for readiness; fails at once while the circuit is open. */
  ping(timeoutMs?: number): Promise<void>;
  /**
   * Runs one command (or a few) with a deadline. A timeout rejects with RedisTimeoutError and
   * counts toward the breaker, an answer resets the count; while the circuit is open it rejects
   * at once with RedisCircuitOpenError, without touching Redis.
   */
  command<T>(what: string, timeoutMs: number, run: (client: RedisClient) => Promise<T>): Promise<T>;
  /** The breaker's state (readiness details). */
  circuit(): CircuitState;
  close(): Promise<void>;
}

export class RedisTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: redis did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

export class RedisCircuitOpenError extends Error {
  constructor(what: string) {
    super(`${what}: skipped, the redis circuit breaker is open (redis stopped answering)`);
    this.name = 'RedisCircuitOpenError';
  }
}

export interface RedisConnectionOptions {
  onError?: (err: Error) => void;
  connectTimeoutMs?: number;
  /** Consecutive command timeouts that open the circuit (REDIS_BREAKER_THRESHOLD, 3). */
  breakerThreshold?: number;
  /** How often an open circuit PINGs Redis (REDIS_BREAKER_PROBE_INTERVAL_MS, 1000). */
  breakerProbeIntervalMs?: number;
  /** How long a probe PING may take (HEALTH_CHECK_TIMEOUT_MS). */
  breakerProbeTimeoutMs?: number;
  onCircuitChange?: (state: CircuitState) => void;
}

/** Resolves with `promise`, or rejects with RedisTimeoutError after `ms`. */
function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeoutError(what, ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Starts connecting and waits for the first `ready`, at most `timeoutMs`: a Redis down at start is not fatal. */
async function startConnecting(client: RedisClient, timeoutMs: number): Promise<void> {
  client.connect().catch(() => undefined);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function breakerFor(client: RedisClient, opts: RedisConnectionOptions): CircuitBreaker {
  const probeTimeoutMs = opts.breakerProbeTimeoutMs ?? 1000;
  return new CircuitBreaker({
    threshold: opts.breakerThreshold ?? 3,
    probeIntervalMs: opts.breakerProbeIntervalMs ?? 1000,
    probe: async () => {
      if (!client.isReady) throw new Error('redis is not connected');
      await deadline(client.ping(), probeTimeoutMs, 'circuit probe');
    },
    onChange: opts.onCircuitChange,
  });
}

/**
 * QUIT waits for Redis to answer: with Redis down (client reconnecting) or hung it never
 * would, and shutdown would hang. Ask only a ready client, briefly; otherwise drop it.
 */
async function quitOrDestroy(client: RedisClient, breaker: CircuitBreaker): Promise<void> {
  if (!client.isOpen) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!client.isReady || breaker.isOpen()) throw new Error('not connected');
    await Promise.race([
      client.quit(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer to QUIT')), 1000);
      }),
    ]);
  } catch {
    if (client.isOpen) client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

export async function connectRedis(url: string, opts: RedisConnectionOptions = {}): Promise<RedisConnection> {
  const client = makeClient(url, opts.connectTimeoutMs ?? 2000);
  client.on('error', (err: Error) => opts.onError?.(err));
  await startConnecting(client, opts.connectTimeoutMs ?? 2000);
  const breaker = breakerFor(client, opts);
  let closed = false;
  return {
    client,
    isReady: () => client.isReady && !breaker.isOpen(),
    async ping(timeoutMs = 1000) {
      if (breaker.isOpen()) throw new Error(`circuit breaker open since ${breaker.state().openedAt}: redis stopped answering`);
      if (!client.isReady) throw new Error('redis is not connected');
      await deadline(client.ping(), timeoutMs, 'PING').catch((err: unknown) => {
        throw err instanceof RedisTimeoutError ? new Error(`no PONG within ${timeoutMs} ms`) : err;
      });
    },
    async command<T>(what: string, timeoutMs: number, run: (c: RedisClient) => Promise<T>): Promise<T> {
      if (breaker.isOpen()) throw new RedisCircuitOpenError(what);
      try {
        const result = await deadline(run(client), timeoutMs, what);
        breaker.recordSuccess();
        return result;
      } catch (err) {
        if (err instanceof RedisTimeoutError) breaker.recordTimeout();
        throw err;
      }
    },
    circuit: () => breaker.state(),
    async close() {
      if (closed) return;
      closed = true;
      breaker.stop();
      await quitOrDestroy(client, breaker);
    },
  };
}
