import { EMBEDDING_MODEL, TOPICS, type ModelProfile, type Operation } from './catalog';
import { mixSeed, Prng } from './prng';
import { generateSpan, maybeScore, type SeedScore, type SeedTrace, type SessionContext } from './spans';
import { buildWorld, DAY_MS, resolveSeedOptions, type ResolvedSeedOptions, type SeedOptions, type World } from './world';

export type { SeedScore, SeedTrace } from './spans';
export type { ReferenceData, ResolvedSeedOptions, SeedOptions } from './world';
export { buildReferenceData, resolveSeedOptions } from './world';

/**
 * Synthetic traffic, generated lazily. The window [endAt - days, endAt) is cut into slices;
 * each slice gets an exact row quota from a daily/weekly traffic curve, is filled with user
 * sessions and emitted sorted by ts. Rows therefore arrive nearly in time order (cheap for
 * hypertable chunks and ts indexes) and only one slice plus one batch is ever in memory.
 */

export interface SeedBatch {
  traces: SeedTrace[];
  /** Scores of rows in this batch (never of a later batch). */
  scores: SeedScore[];
}

/** Slices stay small enough to sort in memory even when millions of rows go into one day. */
const MAX_ROWS_PER_SLICE = 500;
const MAX_SESSION_CALLS = 12;
const MAX_GAP_MS = 10 * 60_000;

/** Relative traffic at an instant: busiest mid-afternoon UTC, quieter weekends, slow growth. */
export function trafficWeight(ms: number, startMs: number, windowMs: number): number {
  const d = new Date(ms);
  const hour = d.getUTCHours() + d.getUTCMinutes() / 60;
  const daily = 0.15 + Math.exp(-((hour - 14) ** 2) / (2 * 4.5 ** 2));
  const dow = d.getUTCDay();
  const weekly = dow === 0 || dow === 6 ? 0.6 : 1;
  const growth = 1 + 0.3 * ((ms - startMs) / windowMs);
  return daily * weekly * growth;
}

/** Integer rows per slice summing exactly to `total` (largest-remainder rounding). */
export function sliceQuotas(opts: ResolvedSeedOptions): { sliceMs: number; quotas: number[] } {
  const windowMs = opts.days * DAY_MS;
  const slices = Math.max(opts.days * 24, Math.ceil(opts.traces / MAX_ROWS_PER_SLICE));
  const sliceMs = windowMs / slices;
  const startMs = opts.startAt.getTime();
  const weights = Array.from({ length: slices }, (_, i) => trafficWeight(startMs + (i + 0.5) * sliceMs, startMs, windowMs));
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (opts.traces * w) / sum);
  const quotas = exact.map(Math.floor);
  let missing = opts.traces - quotas.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (missing-- <= 0) break;
    quotas[i] = (quotas[i] as number) + 1;
  }
  return { sliceMs, quotas };
}

export function* generateSeedBatches(options: SeedOptions, batchSize = 500): Generator<SeedBatch> {
  const opts = resolveSeedOptions(options);
  const world = buildWorld(opts);
  // endAt is part of the seed: reseeding a later window never repeats row ids.
  const rng = new Prng(mixSeed(opts.seed, opts.endAt.getTime()));
  const { sliceMs, quotas } = sliceQuotas(opts);
  const startMs = opts.startAt.getTime();
  const endMs = opts.endAt.getTime();

  let traces: SeedTrace[] = [];
  let scores: SeedScore[] = [];
  for (let i = 0; i < quotas.length; i++) {
    const quota = quotas[i] as number;
    if (quota === 0) continue;
    const slice: SeedTrace[] = [];
    const sliceStart = startMs + i * sliceMs;
    while (slice.length < quota) {
      const session = generateSession(rng, world, opts, rng.range(sliceStart, sliceStart + sliceMs), quota - slice.length);
      for (const row of session) {
        slice.push(row);
        maybeScore(rng, row, endMs, scores);
      }
    }
    slice.sort((a, b) => a.ts.getTime() - b.ts.getTime());
    for (const row of slice) traces.push(row);
    // Batches end on slice boundaries so that every score travels with its row.
    if (traces.length >= batchSize) {
      yield { traces, scores };
      traces = [];
      scores = [];
    }
  }
  if (traces.length > 0) yield { traces, scores };
}

/** All rows at once: for tests and small seeds only. */
export function generateSeedRows(options: SeedOptions): SeedBatch {
  const out: SeedBatch = { traces: [], scores: [] };
  for (const b of generateSeedBatches(options)) {
    out.traces.push(...b.traces);
    out.scores.push(...b.scores);
  }
  return out;
}

/**
 * One user's burst of calls (or a backend job's, without user and session), at most
 * `maxRows` rows. Shifted back as a whole if it would run past endAt.
 */
function generateSession(rng: Prng, world: World, opts: ResolvedSeedOptions, startMs: number, maxRows: number): SeedTrace[] {
  const org = world.orgs.pick(rng);
  const project = org.projects.pick(rng);
  const backgroundJob = rng.chance(0.05);
  const ctx: SessionContext = {
    org,
    project,
    environment: world.environments.pick(rng),
    userId: backgroundJob ? null : org.users.pick(rng),
    sessionId: backgroundJob ? null : `sess_${rng.hex(16)}`,
    topic: rng.pick(TOPICS),
    startAtMs: opts.startAt.getTime(),
  };
  const calls = 1 + Math.min(rng.geometric(backgroundJob ? 0.15 : 0.3), MAX_SESSION_CALLS - 1);
  const rows: SeedTrace[] = [];
  let t = startMs;
  for (let c = 0; c < calls && rows.length < maxRows; c++) {
    const operation: Operation = backgroundJob ? (rng.chance(0.7) ? 'embedding' : 'completion') : project.operations.pick(rng);
    const model = operation === 'embedding' ? EMBEDDING_MODEL : world.models.pick(rng);
    const topic = rng.chance(0.7) ? ctx.topic : rng.pick(TOPICS);
    const agent = (operation === 'chat' || operation === 'tool_call') && rng.chance(0.1 * project.kind.agentFactor);
    const root = generateSpan(rng, world, { ctx, operation, model, tsMs: t, traceId: rng.hex(32), parentSpanId: null, topic, agent });
    rows.push(root);
    if (agent && root.status_code === 200) {
      const children = Math.min(rng.int(1, 3), maxRows - rows.length);
      appendChildSpans(rng, world, ctx, root, model, topic, children, rows);
    }
    const gapMedian = backgroundJob ? 2_000 : 45_000;
    t += root.duration_ms + Math.min(MAX_GAP_MS, Math.max(500, rng.logNormal(gapMedian, 0.9)));
  }
  const last = rows.reduce((m, r) => Math.max(m, r.ts.getTime()), 0);
  const overshoot = last - (opts.endAt.getTime() - 1000);
  if (overshoot > 0) for (const r of rows) r.ts = new Date(Math.max(r.ts.getTime() - overshoot, ctx.startAtMs));
  return rows;
}

/** Agent flow: retrieval and tool calls run one after another inside the root span. */
function appendChildSpans(
  rng: Prng,
  world: World,
  ctx: SessionContext,
  root: SeedTrace,
  rootModel: ModelProfile,
  topic: string,
  count: number,
  out: SeedTrace[],
): void {
  const rootMs = root.ts.getTime();
  let cursor = rng.range(5, 50);
  for (let k = 0; k < count; k++) {
    const retrieval = k === 0 && ctx.project.kind.extraEmbedding > 0 && rng.chance(0.6);
    const operation: Operation = retrieval ? 'embedding' : rng.chance(0.6) ? 'tool_call' : 'chat';
    const model = operation === 'embedding' ? EMBEDDING_MODEL : rng.chance(0.7) ? rootModel : world.models.pick(rng);
    const child = generateSpan(rng, world, {
      ctx,
      operation,
      model,
      tsMs: Math.round(rootMs + cursor),
      traceId: root.trace_id,
      parentSpanId: root.span_id,
      topic,
      agent: true,
    });
    out.push(child);
    cursor += child.duration_ms + rng.range(5, 80);
  }
  // The root spans its children plus its own final answer.
  root.duration_ms = Math.round((cursor + root.duration_ms) * 10) / 10;
}
