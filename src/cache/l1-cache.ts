import type { CachedField } from './entry-codec';

/**
 * This instance's copies of Redis entries (the L1 in front of Redis), bounded in bytes, least
 * recently used out first. A copy never outlives its Redis entry: it expires at the time the
 * entry's PTTL said when it was read (measured from before the read was sent), or at
 * storedAt + TTL for entries this instance wrote itself.
 *
 * Coherence across instances is the owner's business (RedisFieldStore): it clears the whole
 * L1 whenever it cannot be sure to hear about purges, drops keys named on the invalidation
 * channel, and refuses copies read before the latest invalidation (`epoch`).
 */
interface Copy {
  readonly field: CachedField;
  readonly expiresAt: number;
  readonly bytes: number;
}

export class L1Cache {
  private readonly copies = new Map<string, Copy>();
  private bytes = 0;
  /** Bumped by every invalidation: a read issued before a bump must not be kept. */
  epoch = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get size(): number {
    return this.copies.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get(key: string): CachedField | undefined {
    const c = this.copies.get(key);
    if (!c) return undefined;
    if (c.expiresAt <= this.now()) {
      this.delete(key);
      return undefined;
    }
    // Map order is recency order: move to the end.
    this.copies.delete(key);
    this.copies.set(key, c);
    return c.field;
  }

  /** Keeps a copy until `expiresAt` (epoch ms), unless an invalidation came after `readEpoch`. */
  set(key: string, field: CachedField, expiresAt: number, readEpoch = this.epoch): void {
    if (!this.enabled || readEpoch !== this.epoch || expiresAt <= this.now()) return;
    const bytes = field.bytes + key.length;
    if (bytes > this.maxBytes / 4) return; // one entry never crowds out the rest
    this.delete(key);
    this.copies.set(key, { field, expiresAt, bytes });
    this.bytes += bytes;
    for (const [oldest] of this.copies) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const c = this.copies.get(key);
    if (!c) return;
    this.copies.delete(key);
    this.bytes -= c.bytes;
  }

  /** Drops the named keys and refuses copies of reads already in flight. */
  invalidate(keys: Iterable<string>): void {
    this.epoch++;
    for (const k of keys) this.delete(k);
  }

  clear(): void {
    this.epoch++;
    this.copies.clear();
    this.bytes = 0;
  }
}
