import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import type { Price, PriceLookup } from './genai-mapping';
import { findModelPrices, type PriceRow } from './ingest.repository';

/**
 * model_prices in memory for pricing spans that carry no cost; reloaded in the background every
 * `refreshMs`, so a price change reaches ingestion within that. Lookup: (provider, model) as
 * given; else the model under any provider (conventions name providers differently:
 * `gcp.vertex_ai` vs `google`); else the longest priced model that prefixes a dated model name
 * (`gpt-4o-2024-08-06` → `gpt-4o`). The price is the one in effect at the span's start.
 */
export class PriceBook {
  private byKey = new Map<string, PriceRow[]>();
  private byModel = new Map<string, PriceRow[]>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly refreshMs = 60_000,
  ) {}

  /** Resolves once prices are loaded (the first call waits; later ones refresh in the background). */
  async ready(): Promise<void> {
    if (this.loadedAt === 0) return this.reload();
    if (Date.now() - this.loadedAt > this.refreshMs && !this.loading) void this.reload().catch(() => undefined);
  }

  reload(): Promise<void> {
    this.loading ??= findModelPrices(this.db)
      .then((rows) => {
        const byKey = new Map<string, PriceRow[]>();
        const byModel = new Map<string, PriceRow[]>();
        for (const r of rows) {
          push(byKey, `${r.provider}\u0000${r.model}`, r);
          push(byModel, r.model, r);
        }
        this.byKey = byKey;
        this.byModel = byModel;
        this.loadedAt = Date.now();
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  readonly lookup: PriceLookup = (provider, model, at) => {
    const hit = this.byKey.get(`${provider}\u0000${model}`) ?? this.byModel.get(model) ?? this.byPrefix(model);
    if (!hit) return null;
    // Rows are newest first: the first one in effect at `at`.
    const row = hit.find((r) => r.from.getTime() <= at.getTime());
    return row ? ({ prompt: row.prompt, completion: row.completion, cached: row.cached } satisfies Price) : null;
  };

  private byPrefix(model: string): PriceRow[] | undefined {
    let best: string | undefined;
    for (const m of this.byModel.keys()) {
      if (model.startsWith(`${m}-`) && (!best || m.length > best.length)) best = m;
    }
    return best ? this.byModel.get(best) : undefined;
  }
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V) {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}
