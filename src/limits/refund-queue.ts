import type { Logger } from 'pino';
import type { BucketSpec, BudgetStore, LimitStoreMode } from './budget-store';

/**
 * Refunds (estimate − actual) are coalesced: what requests give back to one bucket within
 * `delayMs` goes back in one script call, and all buckets' calls of one flush leave in one
 * socket write (one round trip shared by many requests, never more than one per request).
 *
 * Delaying a refund only makes a budget stricter for a few milliseconds; it never lets more
 * through. Responses already report the balance after the refund. Points taken from memory go
 * back to memory at once (there is no round trip to save).
 */
export class RefundQueue {
  private readonly pending = new Map<string, { bucket: BucketSpec; points: number }>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: BudgetStore,
    private readonly opts: { readonly delayMs: number; readonly logger?: Logger },
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(bucket: BucketSpec, points: number, where: LimitStoreMode): void {
    if (points <= 0) return;
    if (where === 'memory') {
      this.store.refund(bucket, points, 'memory').catch((err) => this.opts.logger?.warn({ err }, 'refund failed'));
      return;
    }
    const p = this.pending.get(bucket.key);
    if (p) p.points += points;
    else this.pending.set(bucket.key, { bucket, points });
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.delayMs);
      this.timer.unref();
    }
  }

  /** Sends everything pending now (also on shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.size) return this.flushing;
    const batch = [...this.pending.values()];
    this.pending.clear();
    // A refund lost to a Redis failure only makes the budget stricter.
    const sent = Promise.all(batch.map(({ bucket, points }) => this.store.refund(bucket, points, 'redis').catch((err) => this.opts.logger?.warn({ err }, 'refund failed'))));
    this.flushing = sent.then(() => undefined);
    return this.flushing;
  }
}
