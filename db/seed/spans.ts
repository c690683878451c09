import {
  ALL_MODELS,
  ERROR_KINDS,
  EXTRA_TAGS,
  FEEDBACK_COMMENTS,
  OPERATION_LATENCY_FACTOR,
  EXCHANGES,
  REGIONS,
  type ErrorKind,
  type ModelProfile,
  type Operation,
} from './catalog';
import { Prng, WeightedPicker } from './prng';
import { DAY_MS, type OrgWorld, type ProjectWorld, type World } from './world';

/** One generated `traces` row (every span is a row); column names match the table. */
export interface SeedTrace {
  ts: Date;
  id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  org_id: string;
  project_id: string;
  provider: string;
  model: string;
  operation: Operation;
  user_id: string | null;
  session_id: string | null;
  environment: string;
  status_code: number;
  error_type: string | null;
  duration_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  prompt_cost_usd: number;
  completion_cost_usd: number;
  total_cost_usd: number;
  input: string | null;
  output: string | null;
  metadata: Record<string, string>;
  tags: string[];
}

/** One generated `scores` row; trace_id is the scored row's uuid `id`, as in the table. */
export interface SeedScore {
  id: string;
  trace_id: string;
  ts: Date;
  org_id: string;
  project_id: string;
  name: string;
  value: number | null;
  label: string | null;
  source: 'human' | 'llm' | 'heuristic';
  comment: string | null;
  /** The trace's time and dimensions, carried on the score (score rollups never join traces). */
  trace_ts: Date;
  provider: string;
  model: string;
  environment: string;
}

/** What every span of one session shares. */
export interface SessionContext {
  org: OrgWorld;
  project: ProjectWorld;
  environment: string;
  userId: string | null;
  sessionId: string | null;
  topic: string;
  startAtMs: number;
}

export interface SpanRequest {
  ctx: SessionContext;
  operation: Operation;
  model: ModelProfile;
  tsMs: number;
  traceId: string;
  parentSpanId: string | null;
  topic: string;
  agent: boolean;
}

const errorKinds = new WeightedPicker(ERROR_KINDS, ERROR_KINDS.map((k) => k.weight));

/** Prompt length by operation: (median tokens, log sigma). Tool-call turns carry schemas. */
const PROMPT_TOKENS: Record<Operation, readonly [number, number]> = {
  chat: [650, 0.9],
  completion: [300, 0.8],
  embedding: [220, 0.7],
  tool_call: [1400, 0.7],
};
const COMPLETION_TOKENS: Record<Operation, readonly [number, number]> = {
  chat: [280, 0.8],
  completion: [90, 0.7],
  embedding: [0, 0],
  tool_call: [45, 0.5],
};
/** Share of calls that hit a warm prompt cache, where the provider bills cached tokens apart. */
const CACHE_HIT_RATE = 0.3;
/** Chosen so that ~15% of all rows get scored; embedding rows are never judged. */
export const SCORE_RATE_NON_EMBEDDING = 0.18;

export const round8 = (x: number) => Math.round(x * 1e8) / 1e8;
const round1 = (x: number) => Math.round(x * 10) / 10;
const clampInt = (x: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(x)));
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function computeCosts(
  price: { prompt: number; completion: number; cached: number },
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
): { prompt: number; completion: number; total: number } {
  const prompt = round8(((promptTokens - cachedTokens) / 1000) * price.prompt + (cachedTokens / 1000) * price.cached);
  const completion = round8((completionTokens / 1000) * price.completion);
  return { prompt, completion, total: round8(prompt + completion) };
}

function errorDuration(rng: Prng, kind: ErrorKind, model: ModelProfile): number {
  switch (kind.errorType) {
    case 'rate_limit':
      return rng.logNormal(60, 0.6);
    case 'invalid_request':
      return rng.logNormal(150, 0.5);
    case 'timeout':
      // Clients give up at 30 s or 60 s.
      return rng.pick([30_000, 60_000]) + rng.range(0, 250);
    default:
      return rng.logNormal(model.medianMs * 0.5, 0.8);
  }
}

function appVersion(project: ProjectWorld, environment: string, tsMs: number, startAtMs: number): string {
  // Releases roughly every 10 days, patches every 2; pre-production runs one minor ahead.
  const age = tsMs - startAtMs;
  const minor = project.baseMinorVersion + Math.floor(age / (10 * DAY_MS)) + (environment === 'production' ? 0 : 1);
  const patch = environment === 'production' ? Math.floor(age / (2 * DAY_MS)) % 5 : 0;
  return `1.${minor}.${patch}`;
}

export function fill(template: string, topic: string): string {
  return template.replaceAll('{topic}', topic);
}

/** Draws one span row. Scores are drawn later (maybeScore), once the row's final ts is known. */
export function generateSpan(rng: Prng, world: World, req: SpanRequest): SeedTrace {
  const { ctx, operation, model } = req;
  const spanId = rng.hex(16);
  const id = rng.uuid();
  const failed = rng.chance(model.errorRate);
  const kind = failed ? errorKinds.pick(rng) : null;

  let duration: number;
  let ttft: number | null = null;
  let promptTokens = 0;
  let completionTokens = 0;
  let cachedTokens = 0;
  if (kind) {
    duration = errorDuration(rng, kind, model);
  } else {
    duration = rng.logNormal(model.medianMs * OPERATION_LATENCY_FACTOR[operation], model.sigma);
    if (operation !== 'embedding') ttft = round1(duration * rng.range(0.12, 0.45));
    const [pMed, pSigma] = PROMPT_TOKENS[operation];
    promptTokens = clampInt(rng.logNormal(pMed, pSigma), 4, 128_000);
    if (operation !== 'embedding') {
      const [cMed, cSigma] = COMPLETION_TOKENS[operation];
      completionTokens = clampInt(rng.logNormal(cMed * model.completionScale, cSigma), 1, 32_000);
    }
    if (model.cachedPer1k > 0 && operation !== 'embedding' && rng.chance(CACHE_HIT_RATE)) {
      cachedTokens = Math.floor(promptTokens * rng.range(0.3, 0.9));
    }
  }
  const price = world.prices.get(model.model);
  if (!price) throw new Error(`no price for ${model.model}`);
  const cost = computeCosts(price, promptTokens, completionTokens, cachedTokens);

  const [prompt, answer] = rng.pick(EXCHANGES[operation]);
  // A set: an agents project's kind already carries "agent". The random draws stay the same, so
  // every other column (and the distribution the tests rely on) is unchanged.
  const tagSet = new Set(ctx.project.kind.tags);
  if (req.agent) tagSet.add('agent');
  if (rng.chance(0.1)) tagSet.add(rng.pick(EXTRA_TAGS));
  const tags = [...tagSet];

  return {
    ts: new Date(req.tsMs),
    id,
    trace_id: req.traceId,
    span_id: spanId,
    parent_span_id: req.parentSpanId,
    org_id: ctx.org.row.id,
    project_id: ctx.project.row.id,
    provider: model.provider,
    model: model.model,
    operation,
    user_id: ctx.userId,
    session_id: ctx.sessionId,
    environment: ctx.environment,
    status_code: kind ? kind.statusCode : 200,
    error_type: kind ? kind.errorType : null,
    duration_ms: round1(duration),
    ttft_ms: ttft,
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    cached_tokens: cachedTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_cost_usd: cost.prompt,
    completion_cost_usd: cost.completion,
    total_cost_usd: cost.total,
    input: fill(prompt, req.topic),
    output: kind || answer === null ? null : fill(answer, req.topic),
    metadata: {
      region: rng.chance(0.85) ? ctx.org.region : rng.pick(REGIONS),
      app_version: appVersion(ctx.project, ctx.environment, req.tsMs, ctx.startAtMs),
      feature: rng.pick(ctx.project.kind.features),
    },
    tags,
  };
}

const MODEL_BY_NAME = new Map(ALL_MODELS.map((m) => [m.model, m]));

/** Judges a fraction of the rows: LLM evals, human thumbs, a heuristic classifier. */
export function maybeScore(rng: Prng, row: SeedTrace, endAtMs: number, out: SeedScore[]): void {
  if (row.operation === 'embedding' || !rng.chance(SCORE_RATE_NON_EMBEDDING)) return;
  const quality = (MODEL_BY_NAME.get(row.model) as ModelProfile).quality;
  const finishedMs = row.ts.getTime() + row.duration_ms;
  const failed = row.status_code >= 400;
  const penalty = failed ? 0.5 : 0;
  const start = out.length;
  const add = (name: string, source: SeedScore['source'], delayMs: number, value: number, label: string | null, comment: string | null) =>
    out.push({
      id: rng.uuid(),
      trace_id: row.id,
      // Scores land after the call, but never in the future of the data set.
      ts: new Date(Math.min(finishedMs + delayMs, endAtMs - 1)),
      org_id: row.org_id,
      project_id: row.project_id,
      name,
      value,
      label,
      source,
      comment,
      trace_ts: row.ts,
      provider: row.provider,
      model: row.model,
      environment: row.environment,
    });

  if (rng.chance(0.75)) {
    add('helpfulness', 'llm', rng.range(2_000, 15_000), round3(clamp01(quality + 0.12 * rng.normal() - penalty)), null, null);
  }
  if (rng.chance(0.45)) {
    add('correctness', 'llm', rng.range(2_000, 15_000), round3(clamp01(quality - 0.05 + 0.15 * rng.normal() - penalty)), null, null);
  }
  if (row.user_id !== null && rng.chance(0.3)) {
    const up = rng.chance(failed ? 0.1 : 0.45 + 0.5 * quality);
    const comment = rng.pick(up ? FEEDBACK_COMMENTS.up : FEEDBACK_COMMENTS.down);
    add('user_feedback', 'human', rng.range(20_000, 20 * 60_000), up ? 1 : 0, up ? 'thumbs_up' : 'thumbs_down', comment);
  }
  if (rng.chance(0.35) || out.length === start) {
    // A keyword classifier: almost always near zero, rarely a spike.
    add('toxicity', 'heuristic', rng.range(1_000, 5_000), Math.round(0.15 * Math.pow(rng.next(), 6) * 10_000) / 10_000, null, null);
  }
}
