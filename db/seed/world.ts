import {
  ALL_MODELS,
  ENVIRONMENT_MIX,
  MODEL_POPULARITY_S,
  MODELS,
  OPERATION_MIX,
  ORG_CATALOG,
  PROJECT_KINDS,
  type ModelProfile,
  type Operation,
  type ProjectKind,
} from './catalog';
import { mixSeed, Prng, WeightedPicker, zipfWeights } from './prng';

/** The reference rows (orgs, projects, prices) and the samplers traffic is drawn with. */

export interface SeedOptions {
  /** Rows to write into `traces` (every span is a row). */
  traces: number;
  days: number;
  orgs: number;
  seed: number;
  /** Exclusive upper bound of generated timestamps; default now, rounded down to the minute. */
  endAt?: Date;
}

export interface ResolvedSeedOptions {
  readonly traces: number;
  readonly days: number;
  readonly orgs: number;
  readonly seed: number;
  readonly endAt: Date;
  readonly startAt: Date;
}

export const DAY_MS = 86_400_000;

export function resolveSeedOptions(opts: SeedOptions, now: Date = new Date()): ResolvedSeedOptions {
  const intAtLeast = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`seed option ${name} must be an integer >= ${min}, got ${v}`);
  };
  intAtLeast('traces', opts.traces, 0);
  intAtLeast('days', opts.days, 1);
  intAtLeast('orgs', opts.orgs, 1);
  intAtLeast('seed', opts.seed, 0);
  const endMs = opts.endAt ? opts.endAt.getTime() : Math.floor(now.getTime() / 60_000) * 60_000;
  if (!Number.isFinite(endMs)) throw new RangeError('seed option endAt is not a valid date');
  return {
    traces: opts.traces,
    days: opts.days,
    orgs: opts.orgs,
    seed: opts.seed,
    endAt: new Date(endMs),
    startAt: new Date(endMs - opts.days * DAY_MS),
  };
}

export interface SeedOrgRow {
  id: string;
  name: string;
}

export interface SeedProjectRow {
  id: string;
  org_id: string;
  name: string;
}

/** Prices as numeric(12, 6) text, exactly what the database stores and returns. */
export interface SeedModelPriceRow {
  provider: string;
  model: string;
  prompt_usd_per_1k: string;
  completion_usd_per_1k: string;
  cached_usd_per_1k: string;
  effective_from: Date;
}

export interface ReferenceData {
  orgs: SeedOrgRow[];
  projects: SeedProjectRow[];
  modelPrices: SeedModelPriceRow[];
}

export interface ProjectWorld {
  row: SeedProjectRow;
  kind: ProjectKind;
  operations: WeightedPicker<Operation>;
  baseMinorVersion: number;
}

export interface OrgWorld {
  row: SeedOrgRow;
  region: string;
  projects: WeightedPicker<ProjectWorld>;
  users: WeightedPicker<string>;
}

export interface World {
  reference: ReferenceData;
  orgs: WeightedPicker<OrgWorld>;
  models: WeightedPicker<ModelProfile>;
  environments: WeightedPicker<string>;
  /** Prices per model in USD per 1k tokens, read back from the model_prices rows. */
  prices: Map<string, { prompt: number; completion: number; cached: number }>;
}

/** Far enough back that any trace timestamp finds its price. */
export const PRICES_EFFECTIVE_FROM = new Date('1970-01-01T00:00:00.000Z');

function priceText(usd: number): string {
  const text = usd.toFixed(6);
  // numeric(12, 6) would silently round a finer price and break the cost formula.
  if (Number(text) !== usd) throw new Error(`price ${usd} does not fit numeric(12, 6)`);
  return text;
}

export function modelPriceRows(): SeedModelPriceRow[] {
  return ALL_MODELS.map((p) => ({
    provider: p.provider,
    model: p.model,
    prompt_usd_per_1k: priceText(p.promptPer1k),
    completion_usd_per_1k: priceText(p.completionPer1k),
    cached_usd_per_1k: priceText(p.cachedPer1k),
    effective_from: PRICES_EFFECTIVE_FROM,
  }));
}

function orgIdentity(i: number): { slug: string; name: string; region: string } {
  const [slug, name, region] = ORG_CATALOG[i % ORG_CATALOG.length] as (typeof ORG_CATALOG)[number];
  const round = Math.floor(i / ORG_CATALOG.length);
  return round === 0 ? { slug, name, region } : { slug: `${slug}${round + 1}`, name: `${name} ${round + 1}`, region };
}

function shuffled<T>(rng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function operationPicker(kind: ProjectKind): WeightedPicker<Operation> {
  const ops = OPERATION_MIX.map(([op]) => op);
  const weights = OPERATION_MIX.map(([op, w]) => (op === 'embedding' ? w + kind.extraEmbedding : w));
  return new WeightedPicker(ops, weights);
}

/**
 * Depends on seed and org count only (not on endAt or trace count), so that reseeding with
 * other volumes keeps the same orgs, projects and users.
 */
export function buildWorld(opts: Pick<ResolvedSeedOptions, 'seed' | 'orgs'>): World {
  const rng = new Prng(mixSeed(opts.seed, 0x5eed));
  const orgs: OrgWorld[] = [];
  const projects: SeedProjectRow[] = [];
  let userNumber = 0;
  for (let i = 0; i < opts.orgs; i++) {
    const { slug, name, region } = orgIdentity(i);
    const orgRow = { id: `org_${slug}`, name };
    const kinds = shuffled(rng, PROJECT_KINDS).slice(0, rng.int(2, 4));
    const projectWorlds = kinds.map((kind) => {
      const row = { id: `proj_${slug}_${kind.slug}`, org_id: orgRow.id, name: kind.label };
      projects.push(row);
      return { row, kind, operations: operationPicker(kind), baseMinorVersion: rng.int(1, 6) };
    });
    // Globally unique ids, so a user id never means two people in two tenants.
    const userIds = Array.from({ length: rng.int(150, 450) }, () => `user_${String(++userNumber).padStart(4, '0')}`);
    orgs.push({
      row: orgRow,
      region,
      projects: new WeightedPicker(projectWorlds, zipfWeights(projectWorlds.length, 1)),
      users: new WeightedPicker(userIds, zipfWeights(userIds.length, 0.9)),
    });
  }
  const modelPrices = modelPriceRows();
  const prices = new Map(
    modelPrices.map((r) => [
      r.model,
      { prompt: Number(r.prompt_usd_per_1k), completion: Number(r.completion_usd_per_1k), cached: Number(r.cached_usd_per_1k) },
    ]),
  );
  return {
    reference: { orgs: orgs.map((o) => o.row), projects, modelPrices },
    // Traffic per tenant is skewed too: one big customer, several small ones.
    orgs: new WeightedPicker(orgs, zipfWeights(orgs.length, 0.8)),
    models: new WeightedPicker(MODELS, zipfWeights(MODELS.length, MODEL_POPULARITY_S)),
    environments: new WeightedPicker(
      ENVIRONMENT_MIX.map(([e]) => e),
      ENVIRONMENT_MIX.map(([, w]) => w),
    ),
    prices,
  };
}

export function buildReferenceData(opts: Pick<SeedOptions, 'seed' | 'orgs'>): ReferenceData {
  return buildWorld(opts).reference;
}
