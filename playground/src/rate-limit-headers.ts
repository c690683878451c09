/**
 * Reads the gateway's RateLimit headers in both forms it may send:
 *   draft-07 (today):   RateLimit-Policy: 1000;w=60;burst=1200   RateLimit: limit=1200, remaining=1196, reset=1
 *   draft-10 (IETF structured fields):
 *                       RateLimit-Policy: "default";q=1000;w=60   RateLimit: "default";r=1196;t=1
 * Anything unrecognised is kept raw and shown as sent. No DOM types: unit tests run it in Node.
 */
export interface RateLimitPolicy {
  readonly name?: string;
  /** Points per window. */
  readonly quota?: number;
  readonly windowSeconds?: number;
  /** Bucket capacity, when the server says. */
  readonly burst?: number;
}

export interface RateLimitReading {
  readonly policy?: RateLimitPolicy;
  readonly limit?: number;
  readonly remaining?: number;
  readonly resetSeconds?: number;
  readonly raw: { readonly policy: string | null; readonly rateLimit: string | null };
}

interface Member {
  /** The bare item: a token, number or string (quotes removed); undefined for dictionary members. */
  readonly item?: string;
  readonly key?: string;
  readonly value?: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Splits on `sep` outside double quotes. */
function splitOutside(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quoted && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unquote = (v: string) => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v);

function members(header: string): Member[] {
  return splitOutside(header, ',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => {
      const [head = '', ...rest] = splitOutside(m, ';').map((p) => p.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = unquote(p.slice(eq + 1).trim());
        else if (p) params[p.toLowerCase()] = 'true';
      }
      const eq = head.indexOf('=');
      if (eq > 0 && !head.startsWith('"')) return { key: head.slice(0, eq).trim().toLowerCase(), value: unquote(head.slice(eq + 1).trim()), params };
      return { item: unquote(head), params };
    });
}

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

export function parsePolicy(header: string | null): RateLimitPolicy | undefined {
  if (!header) return undefined;
  const first = members(header)[0];
  if (!first) return undefined;
  const p = first.params;
  // draft-07: the item is the quota; draft-10: the item is the policy's name and q= the quota.
  const itemNumber = num(first.item);
  return {
    name: itemNumber === undefined ? first.item : undefined,
    quota: itemNumber ?? num(p.q),
    windowSeconds: num(p.w),
    burst: num(p.burst),
  };
}

export function parseRateLimit(policyHeader: string | null, rateLimitHeader: string | null): RateLimitReading {
  const raw = { policy: policyHeader, rateLimit: rateLimitHeader };
  const policy = parsePolicy(policyHeader);
  if (!rateLimitHeader) return { policy, raw };
  const ms = members(rateLimitHeader);
  const dict = Object.fromEntries(ms.filter((m) => m.key).map((m) => [m.key!, m.value!]));
  if (Object.keys(dict).length) {
    return { policy, limit: num(dict.limit), remaining: num(dict.remaining), resetSeconds: num(dict.reset), raw };
  }
  const first = ms[0];
  return {
    policy,
    limit: policy?.burst ?? policy?.quota,
    remaining: num(first?.params.r),
    resetSeconds: num(first?.params.t),
    raw,
  };
}
