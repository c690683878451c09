/**
 * Rate-limit response headers after draft-ietf-httpapi-ratelimit-headers-07 (the last draft
 * with the `RateLimit: limit=…, remaining=…, reset=…` field that most clients parse; later
 * drafts move to structured-field names `q`/`r`/`t` and we will follow when it is an RFC):
 *
 *   RateLimit-Policy: 10000;w=60;burst=12000   (points per 60 s window, bucket capacity)
 *   RateLimit: limit=12000, remaining=11874, reset=1   (reset: seconds until the bucket is full)
 *   Retry-After: 3   (only on 429: seconds until the refused estimate would fit)
 */
export interface ThrottleStatus {
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  /** Points per second. */
  readonly restoreRate: number;
}

export const throttleStatusOf = (capacity: number, perMinute: number, remaining: number): ThrottleStatus => ({
  maximumAvailable: capacity,
  currentlyAvailable: Math.max(0, Math.floor(remaining)),
  restoreRate: Math.round((perMinute / 60) * 1000) / 1000,
});

export const secondsUntilFull = (t: ThrottleStatus): number =>
  Math.max(0, Math.ceil((t.maximumAvailable - t.currentlyAvailable) / t.restoreRate));

/** Seconds until `needed` points are available again at `perMinute`, from `remaining`. */
export const retryAfterSeconds = (needed: number, remaining: number, perMinute: number): number =>
  Math.max(1, Math.ceil((needed - remaining) / (perMinute / 60)));

export function rateLimitHeaders(t: ThrottleStatus, perMinute: number): Record<string, string> {
  return {
    'ratelimit-policy': `${perMinute};w=60;burst=${t.maximumAvailable}`,
    ratelimit: `limit=${t.maximumAvailable}, remaining=${t.currentlyAvailable}, reset=${secondsUntilFull(t)}`,
  };
}
