import { parseRateLimit, type RateLimitReading } from './rate-limit-headers';

/**
 * What one run tells the analyst beyond its data: the cost (extensions.cost), where the budget
 * stands (RateLimit headers), which root fields came from the cache (extensions.cache, sent for
 * `x-cache-debug: 1`), and which rollups answered each analytics field (`plan`).
 * No DOM types: unit tests run it in Node.
 */
export interface CostExtension {
  readonly requestedQueryCost: number;
  readonly actualQueryCost: number;
  readonly throttleStatus?: { readonly maximumAvailable: number; readonly currentlyAvailable: number; readonly restoreRate: number };
}

export interface CacheEntry {
  readonly field: string;
  readonly hit: boolean;
  readonly ageSeconds?: number;
  readonly ttlSeconds?: number;
}

export interface PlanSlice {
  readonly source: string;
  readonly from?: string;
  readonly to?: string;
}

export interface PlanReport {
  /** Where the plan sits in the answer, e.g. `performance.plan`. */
  readonly path: string;
  readonly percentiles?: string;
  readonly sources: readonly PlanSlice[];
}

export interface RunReport {
  readonly status: number;
  readonly durationMs: number;
  readonly cost?: CostExtension;
  readonly rateLimit: RateLimitReading;
  readonly retryAfterSeconds?: number;
  readonly servedFromCache: boolean;
  readonly cache: readonly CacheEntry[];
  readonly plans: readonly PlanReport[];
  /** Analytics root fields answered without `plan` selected (the page suggests adding it). */
  readonly analyticsWithoutPlan: readonly string[];
  readonly errorCodes: readonly string[];
}

export interface HeaderSource {
  get(name: string): string | null;
}

export const ANALYTICS_FIELDS = new Set(['performance', 'costs', 'quality', 'compareModels']);

export function runReport(status: number, headers: HeaderSource, body: any, durationMs: number): RunReport {
  const ext = (body && typeof body === 'object' ? body.extensions : undefined) ?? {};
  const cost = ext.cost && typeof ext.cost.requestedQueryCost === 'number' ? (ext.cost as CostExtension) : undefined;
  const cache: CacheEntry[] = ext.cache && typeof ext.cache === 'object'
    ? Object.entries(ext.cache as Record<string, any>).map(([field, v]) => ({ field, hit: Boolean(v?.hit), ageSeconds: v?.ageSeconds, ttlSeconds: v?.ttlSeconds }))
    : [];
  const plans: PlanReport[] = [];
  const data = body?.data;
  const withPlan = new Set<string>();
  if (data && typeof data === 'object') {
    const walk = (value: any, path: string, root: string) => {
      if (!value || typeof value !== 'object') return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => walk(v, `${path}[${i}]`, root));
        return;
      }
      for (const [k, v] of Object.entries(value)) {
        const here = path ? `${path}.${k}` : k;
        if (v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as any).sources)) {
          withPlan.add(root);
          plans.push({
            path: here,
            percentiles: typeof (v as any).percentiles === 'string' ? (v as any).percentiles : undefined,
            sources: ((v as any).sources as any[]).map((s) => ({ source: String(s?.source ?? '?'), from: s?.from, to: s?.to })),
          });
        } else walk(v, here, root);
      }
    };
    for (const [k, v] of Object.entries(data)) walk(v, k, k);
  }
  const analyticsWithoutPlan = data && typeof data === 'object'
    ? Object.entries(data).filter(([k, v]) => v && !withPlan.has(k) && isAnalytics(k, v)).map(([k]) => k)
    : [];
  const retryAfter = Number(headers.get('retry-after'));
  return {
    status,
    durationMs,
    cost,
    rateLimit: parseRateLimit(headers.get('ratelimit-policy'), headers.get('ratelimit')),
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    servedFromCache: headers.get('x-served-from-cache') === 'true',
    cache,
    plans,
    analyticsWithoutPlan,
    errorCodes: Array.isArray(body?.errors) ? [...new Set<string>(body.errors.map((e: any) => String(e?.extensions?.code ?? 'ERROR')))] : [],
  };
}

/** Aliases hide the field name: an analytics answer is recognised by its report shape too. */
function isAnalytics(key: string, value: any): boolean {
  if (ANALYTICS_FIELDS.has(key)) return true;
  return typeof value === 'object' && !Array.isArray(value) && ('totals' in value || 'models' in value || 'scores' in value) && 'groups' in value;
}

/** "2026-11-26T10:00:00.000Z" → "11-26 10:00" (the panel is narrow). */
export const shortTime = (iso?: string): string => (iso && iso.length >= 16 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso ?? '');
