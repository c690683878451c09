import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedisClient, RedisConnection } from '../redis/redis-connection';

/**
 * Purges reach every instance's L1 through one Redis pub/sub channel: the purging instance
 * publishes the keys it deleted, every instance (itself included) drops them.
 *
 * Pub/sub delivers only to connected subscribers, so the L1 may be used only while this
 * instance is known to hear the channel: `live` turns true when a probe this instance
 * published comes back through its own subscription, and false (with `onLost`, which clears
 * the L1) whenever the subscriber connection errors, ends or reconnects. A purge published
 * while an instance was deaf therefore never leaves a copy behind.
 *
 * The subscriber is a second connection (a subscribed connection takes no other commands),
 * duplicated from the instance's Redis connection with its options; publishing uses the
 * instance's connection itself.
 */
export interface InvalidationMessage {
  readonly keys?: readonly string[];
  readonly probe?: string;
}

export class InvalidationChannel {
  private sub?: RedisClient;
  private probeId: string | null = null;
  private probeTimer?: NodeJS.Timeout;
  private isLive = false;
  private closed = false;

  constructor(
    private readonly redis: RedisConnection,
    readonly channel: string,
    private readonly handlers: { onInvalidate(keys: readonly string[]): void; onLost(): void },
    private readonly logger: Logger,
  ) {}

  get live(): boolean {
    return this.isLive;
  }

  start(): void {
    const sub = this.redis.client.duplicate();
    this.sub = sub;
    const lost = () => {
      if (this.isLive) this.logger.debug('cache invalidation channel lost: L1 cleared and off until it is back');
      this.isLive = false;
      this.handlers.onLost();
    };
    sub.on('error', (err: Error) => {
      this.logger.debug({ err }, 'cache invalidation subscriber error');
      lost();
    });
    sub.on('end', lost);
    sub.on('reconnecting', lost);
    sub.on('ready', () => this.probe());
    sub
      .connect()
      .then(() => sub.subscribe(this.channel, (message: string) => this.receive(message)))
      .then(() => this.probe())
      .catch((err: unknown) => this.logger.debug({ err }, 'cache invalidation subscriber could not start; retrying'));
  }

  /** Tells every instance (this one too) that `keys` are gone. */
  async publish(keys: readonly string[]): Promise<void> {
    if (!keys.length || !this.redis.isReady()) return;
    await this.redis.client.publish(this.channel, JSON.stringify({ keys } satisfies InvalidationMessage));
  }

  private receive(message: string): void {
    let m: InvalidationMessage;
    try {
      m = JSON.parse(message) as InvalidationMessage;
    } catch {
      return;
    }
    if (Array.isArray(m.keys)) this.handlers.onInvalidate(m.keys.filter((k): k is string => typeof k === 'string'));
    if (m.probe && m.probe === this.probeId) {
      this.probeId = null;
      this.isLive = true;
    }
  }

  /** Publishes a probe and keeps doing so every second until one comes back. */
  private probe(): void {
    clearTimeout(this.probeTimer);
    if (this.closed || this.isLive) return;
    const id = randomUUID();
    this.probeId = id;
    if (this.redis.isReady() && this.sub?.isReady) {
      this.redis.client.publish(this.channel, JSON.stringify({ probe: id } satisfies InvalidationMessage)).catch(() => undefined);
    }
    this.probeTimer = setTimeout(() => this.probe(), 1000);
    this.probeTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.isLive = false;
    clearTimeout(this.probeTimer);
    const sub = this.sub;
    this.sub = undefined;
    if (sub?.isOpen) sub.destroy();
  }
}
