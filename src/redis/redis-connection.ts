import { createClient } from '@redis/client';

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
 */
export interface RedisConnection {
  readonly client: RedisClient;
  /** Connected and ready right now. */
  isReady(): boolean;
  /** PING with a timeout, for readiness. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function connectRedis(
  url: string,
  opts: { onError?: (err: Error) => void; connectTimeoutMs?: number } = {},
): Promise<RedisConnection> {
  const client = makeClient(url, opts.connectTimeoutMs ?? 2000);
  client.on('error', (err: Error) => opts.onError?.(err));
  // Start connecting; a Redis that is down at start is not fatal either.
  client.connect().catch(() => undefined);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.connectTimeoutMs ?? 2000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  let closed = false;
  return {
    client,
    isReady: () => client.isReady,
    async ping(timeoutMs = 1000) {
      if (!client.isReady) throw new Error('redis is not connected');
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.ping(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!client.isOpen) return;
      // QUIT waits for Redis to answer: with Redis down (client reconnecting) or hung it never
      // would, and shutdown would hang. Ask only a ready client, briefly; otherwise drop it.
      let timer: NodeJS.Timeout | undefined;
      try {
        if (!client.isReady) throw new Error('not connected');
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
    },
  };
}
