/**
 * Rate-limit response headers.
 *
 * Default, draft-ietf-httpapi-ratelimit-headers-10 (structured fields, RFC 9651): one policy
 * named "default" — the caller's role budget, `q` points per `w` = 60 s — and where the caller
 * stands against it: `r` points left, `t` seconds until the bucket is full again.
 *
 *   RateLimit-Policy: "default";q=10000;w=60
 *   RateLimit: "default";r=11874;t=1
 *   Retry-After: 3   (only on 429: seconds until the refused estimate would fit)
 *
 * The bucket holds up to its burst capacity (`maximumAvailable` in extensions.cost), so `r` can
 * exceed `q`. RATE_LIMIT_HEADERS=draft-07 sends the earlier, documented form instead, for
 * clients that parse it: `RateLimit-Policy: 10000;w=60;burst=12000` and
 * `RateLimit: limit=12000, remaining=11874, reset=1`.
 */
export type RateLimitHeaderFormat = 'draft-10' | 'draft-07';

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

/** The policy's name in draft-10 fields (an sf-string). */
export const POLICY_NAME = 'default';

export function rateLimitHeaders(t: ThrottleStatus, perMinute: number, format: RateLimitHeaderFormat = 'draft-10'): Record<string, string> {
  if (format === 'draft-07') {
    return {
      'ratelimit-policy': `${perMinute};w=60;burst=${t.maximumAvailable}`,
      ratelimit: `limit=${t.maximumAvailable}, remaining=${t.currentlyAvailable}, reset=${secondsUntilFull(t)}`,
    };
  }
  return {
    'ratelimit-policy': `"${POLICY_NAME}";q=${perMinute};w=60`,
    ratelimit: `"${POLICY_NAME}";r=${t.currentlyAvailable};t=${secondsUntilFull(t)}`,
  };
}
