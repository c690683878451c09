import { ALL_MODELS, MODELS } from '../../db/seed/catalog';
import {
  buildReferenceData,
  generateSeedBatches,
  generateSeedRows,
  resolveSeedOptions,
  type SeedBatch,
  type SeedTrace,
} from '../../db/seed/generator';

const END_AT = new Date('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;
const BASE = { traces: 20_000, days: 14, orgs: 3, seed: 7, endAt: END_AT };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Ranks with ties broken by order; enough for a rank correlation over a dozen models. */
function spearman(a: number[], b: number[]): number {
  const rank = (xs: number[]) => {
    const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    order.forEach(([, i], k) => (r[i] = k));
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  const d2 = ra.reduce((sum, r, i) => sum + (r - (rb[i] as number)) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

describe('seed generator', () => {
  let data: SeedBatch;
  beforeAll(() => {
    data = generateSeedRows(BASE);
  });

  describe('determinism', () => {
    it('produces identical rows for the same seed and options', () => {
      const again = generateSeedRows({ ...BASE, traces: 3000 });
      const once = generateSeedRows({ ...BASE, traces: 3000 });
      expect(again).toEqual(once);
      expect(generateSeedRows(BASE).traces.slice(0, 500)).toEqual(data.traces.slice(0, 500));
    });

    it('produces different rows for a different seed', () => {
      const other = generateSeedRows({ ...BASE, traces: 3000, seed: 8 }).traces;
      const mine = generateSeedRows({ ...BASE, traces: 3000 }).traces;
      const ids = new Set(mine.map((t) => t.id));
      expect(other.filter((t) => ids.has(t.id))).toHaveLength(0);
      expect(other.map((t) => t.model)).not.toEqual(mine.map((t) => t.model));
      expect(other.map((t) => t.duration_ms)).not.toEqual(mine.map((t) => t.duration_ms));
    });

    it('never repeats row ids when a later window is seeded with the same seed', () => {
      const later = generateSeedRows({ ...BASE, traces: 3000, endAt: new Date(END_AT.getTime() + 60_000) });
      const ids = new Set(data.traces.map((t) => t.id));
      expect(later.traces.some((t) => ids.has(t.id))).toBe(false);
    });

    it('keeps orgs, projects and prices independent of volume and window', () => {
      expect(buildReferenceData({ seed: 7, orgs: 3 })).toEqual(buildReferenceData({ seed: 7, orgs: 3 }));
      const ref = buildReferenceData({ seed: 7, orgs: 3 });
      const projectIds = new Set(ref.projects.map((p) => p.id));
      expect(data.traces.filter((t) => !projectIds.has(t.project_id))).toEqual([]);
    });
  });

  describe('shape', () => {
    it('writes exactly the requested number of rows, lazily, in bounded batches', () => {
      for (const n of [1, 7, 1234]) expect(generateSeedRows({ ...BASE, traces: n }).traces).toHaveLength(n);
      expect(data.traces).toHaveLength(BASE.traces);
      const started = Date.now();
      const first = generateSeedBatches({ ...BASE, traces: 1_000_000, days: 30 }, 500).next();
      expect(first.done).toBe(false);
      expect((first.value as SeedBatch).traces.length).toBeLessThan(5000);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('builds readable orgs with 2-4 projects each and prices that fit numeric(12, 6)', () => {
      const ref = buildReferenceData({ seed: 7, orgs: 14 });
      expect(ref.orgs.slice(0, 3).map((o) => o.id)).toEqual(['org_acme', 'org_globex', 'org_initech']);
      expect(new Set(ref.orgs.map((o) => o.id)).size).toBe(14);
      for (const org of ref.orgs) {
        const n = ref.projects.filter((p) => p.org_id === org.id).length;
        expect(n).toBeGreaterThanOrEqual(2);
        expect(n).toBeLessThanOrEqual(4);
      }
      for (const p of ref.projects) expect(p.id).toMatch(new RegExp(`^proj_${p.org_id.slice(4)}_[a-z]+$`));
      expect(ref.modelPrices).toHaveLength(ALL_MODELS.length);
      for (const price of ref.modelPrices) expect(price.prompt_usd_per_1k).toMatch(/^\d+\.\d{6}$/);
    });

    it('uses v4 uuids, OpenTelemetry-sized trace and span ids, and unique row ids', () => {
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      const malformed = data.traces.filter((t) => !uuid.test(t.id) || !/^[0-9a-f]{32}$/.test(t.trace_id) || !/^[0-9a-f]{16}$/.test(t.span_id));
      expect(malformed).toEqual([]);
      expect(data.scores.filter((s) => !uuid.test(s.id))).toEqual([]);
      expect(new Set(data.traces.map((t) => t.id)).size).toBe(data.traces.length);
      expect(new Set(data.scores.map((s) => s.id)).size).toBe(data.scores.length);
    });

    it('keeps every timestamp inside [endAt - days, endAt)', () => {
      const start = END_AT.getTime() - BASE.days * DAY;
      const outside = data.traces.filter((t) => t.ts.getTime() < start || t.ts.getTime() >= END_AT.getTime());
      expect(outside).toEqual([]);
      expect(data.scores.filter((s) => s.ts.getTime() >= END_AT.getTime())).toEqual([]);
    });

    it('has more traffic in the UTC afternoon than at night', () => {
      const byHour = new Array<number>(24).fill(0);
      for (const t of data.traces) byHour[t.ts.getUTCHours()] = (byHour[t.ts.getUTCHours()] as number) + 1;
      const day = byHour.slice(12, 17).reduce((a, b) => a + b, 0);
      const night = byHour.slice(0, 5).reduce((a, b) => a + b, 0);
      expect(day).toBeGreaterThan(2 * night);
    });

    it('mixes operations and environments with chat and production dominant', () => {
      const ops = groupBy(data.traces, (t) => t.operation);
      expect([...ops.keys()].sort()).toEqual(['chat', 'completion', 'embedding', 'tool_call']);
      expect((ops.get('chat') as SeedTrace[]).length / data.traces.length).toBeGreaterThan(0.5);
      const prod = data.traces.filter((t) => t.environment === 'production').length / data.traces.length;
      expect(prod).toBeGreaterThan(0.75);
      expect((ops.get('embedding') as SeedTrace[]).filter((t) => t.ttft_ms !== null || t.completion_tokens !== 0)).toEqual([]);
      expect((ops.get('chat') as SeedTrace[]).filter((t) => t.status_code === 200 && t.ttft_ms === null)).toEqual([]);
    });
  });

  describe('plausibility', () => {
    it('fails 1-3% of calls with a status, an error type and still a duration', () => {
      const errors = data.traces.filter((t) => t.status_code >= 400);
      const rate = errors.length / data.traces.length;
      expect(rate).toBeGreaterThanOrEqual(0.01);
      expect(rate).toBeLessThanOrEqual(0.03);
      const kinds = new Set(errors.map((e) => `${e.status_code}:${e.error_type}`));
      expect(kinds).toEqual(new Set(['429:rate_limit', '500:server_error', '503:server_error', '504:timeout', '400:invalid_request']));
      expect(errors.filter((e) => !(e.duration_ms > 0))).toEqual([]);
      expect(data.traces.filter((x) => x.status_code === 200 && x.error_type !== null)).toEqual([]);
    });

    it('skews model popularity (Zipf-like)', () => {
      const shares = [...groupBy(data.traces, (t) => t.model).values()].map((rows) => rows.length / data.traces.length);
      expect(shares.length).toBe(ALL_MODELS.length);
      expect(Math.max(...shares)).toBeGreaterThan(2 * median(shares));
    });

    it('gives each model its own latency, ordered as configured', () => {
      // Plain successful chat calls: agent roots also contain their children's time.
      const roots = new Set(data.traces.filter((t) => t.parent_span_id).map((t) => t.trace_id));
      const plain = data.traces.filter((t) => t.operation === 'chat' && t.status_code === 200 && !roots.has(t.trace_id));
      const byModel = groupBy(plain, (t) => t.model);
      const measured = MODELS.filter((m) => (byModel.get(m.model)?.length ?? 0) >= 100);
      expect(measured.length).toBeGreaterThanOrEqual(8);
      const p50 = measured.map((m) => median((byModel.get(m.model) as SeedTrace[]).map((t) => t.duration_ms)));
      measured.forEach((m, i) => {
        expect(p50[i]).toBeGreaterThan(m.medianMs * 0.75);
        expect(p50[i]).toBeLessThan(m.medianMs * 1.25);
      });
      expect(spearman(measured.map((m) => m.medianMs), p50)).toBeGreaterThan(0.9);
      expect(Math.max(...p50)).toBeGreaterThan(3 * Math.min(...p50));
    });

    it('prices every row from the model_prices rows', () => {
      const prices = new Map(buildReferenceData(BASE).modelPrices.map((p) => [p.model, p]));
      // Integer arithmetic in 1e-8 USD so that the check does not share the generator's float path.
      const units = (tokens: number, per1k: string) => (tokens * Number(per1k.replace('.', ''))) / 10; // per1k has 6 decimals
      const wrong = data.traces.filter((t) => {
        const p = prices.get(t.model);
        if (!p) return true;
        const prompt = Math.round(units(t.prompt_tokens - t.cached_tokens, p.prompt_usd_per_1k) + units(t.cached_tokens, p.cached_usd_per_1k));
        const completion = Math.round(units(t.completion_tokens, p.completion_usd_per_1k));
        const rowPrompt = Math.round(t.prompt_cost_usd * 1e8);
        const rowCompletion = Math.round(t.completion_cost_usd * 1e8);
        return (
          // Within one unit of the 8th decimal: the two float paths may round a .5 differently.
          Math.abs(rowPrompt - prompt) > 1 ||
          Math.abs(rowCompletion - completion) > 1 ||
          Math.round(t.total_cost_usd * 1e8) !== rowPrompt + rowCompletion ||
          t.total_tokens !== t.prompt_tokens + t.completion_tokens ||
          t.cached_tokens > t.prompt_tokens
        );
      });
      expect(wrong).toEqual([]);
      expect(data.traces.filter((t) => t.total_cost_usd > 0).length).toBeGreaterThan(data.traces.length * 0.9);
      expect(data.traces.filter((t) => t.cached_tokens > 0).length).toBeGreaterThan(data.traces.length * 0.05);
    });

    it('scores about 15% of the rows with sensible names, sources and values', () => {
      const scored = new Set(data.scores.map((s) => s.trace_id));
      expect(scored.size / data.traces.length).toBeGreaterThan(0.12);
      expect(scored.size / data.traces.length).toBeLessThan(0.18);
      const rows = new Map(data.traces.map((t) => [t.id, t]));
      const sources: Record<string, string> = { helpfulness: 'llm', correctness: 'llm', user_feedback: 'human', toxicity: 'heuristic' };
      const wrong = data.scores.filter((s) => {
        const row = rows.get(s.trace_id);
        const value = s.value ?? -1;
        return (
          !row ||
          s.org_id !== row.org_id ||
          s.ts.getTime() < row.ts.getTime() ||
          s.source !== sources[s.name] ||
          value < 0 ||
          value > 1 ||
          (s.name === 'user_feedback' && s.label !== (value === 1 ? 'thumbs_up' : 'thumbs_down')) ||
          (s.name === 'toxicity' && value > 0.15)
        );
      });
      expect(wrong).toEqual([]);
      expect(new Set(data.scores.map((s) => s.name))).toEqual(new Set(Object.keys(sources)));
    });

    it('links multi-span traces to one root span', () => {
      const traces = [...groupBy(data.traces, (t) => t.trace_id).values()];
      const multi = traces.filter((spans) => spans.length > 1);
      expect(multi.length).toBeGreaterThan(100);
      const broken = multi.filter((spans) => {
        const roots = spans.filter((s) => s.parent_span_id === null);
        const root = roots[0] as SeedTrace;
        return (
          roots.length !== 1 ||
          spans.length > 4 ||
          spans.some(
            (child) =>
              child !== root &&
              (child.parent_span_id !== root.span_id ||
                child.session_id !== root.session_id ||
                child.project_id !== root.project_id ||
                child.ts.getTime() < root.ts.getTime() ||
                child.ts.getTime() + child.duration_ms > root.ts.getTime() + root.duration_ms + 1),
          )
        );
      });
      expect(broken).toEqual([]);
      // Single-span traces have their own trace id.
      expect(traces.filter((spans) => spans.length === 1 && spans[0]?.parent_span_id !== null)).toEqual([]);
    });

    it('groups calls into sessions of one user, close in time', () => {
      const sessions = [...groupBy(data.traces.filter((t) => t.session_id), (t) => t.session_id as string).values()];
      expect(sessions.filter((s) => s.length > 1).length).toBeGreaterThan(sessions.length * 0.3);
      const spread = sessions.filter((s) => {
        const times = s.map((t) => t.ts.getTime());
        return new Set(s.map((t) => t.user_id)).size !== 1 || Math.max(...times) - Math.min(...times) >= 3 * 3_600_000;
      });
      expect(spread).toEqual([]);
      const users = groupBy(data.traces.filter((t) => t.user_id), (t) => t.user_id as string);
      expect(users.size).toBeGreaterThan(300);
      expect([...users.keys()].filter((id) => !/^user_\d{4,}$/.test(id))).toEqual([]);
      // Zipf over users: the busiest user is far above the typical one.
      const counts = [...users.values()].map((rows) => rows.length);
      expect(Math.max(...counts)).toBeGreaterThan(10 * median(counts));
    });

    it('writes searchable text, metadata and tags', () => {
      const t = data.traces.find((x) => x.operation === 'chat' && x.status_code === 200) as SeedTrace;
      expect(t.input).toMatch(/\w+ \w+/);
      expect(t.output).toBeTruthy();
      expect(Object.keys(t.metadata).sort()).toEqual(['app_version', 'feature', 'region']);
      expect(t.metadata.app_version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(data.traces.filter((x) => x.input?.includes('refund policy')).length).toBeGreaterThan(50);
      expect(data.traces.some((x) => x.tags.includes('agent'))).toBe(true);
      // An agent call in an agents project is tagged "agent" once, not twice.
      expect(data.traces.filter((x) => new Set(x.tags).size !== x.tags.length).map((x) => x.tags)).toEqual([]);
      expect(data.traces.some((x) => x.project_id.includes('agents') && x.tags.includes('agent'))).toBe(true);
    });
  });

  it('rejects options that are not positive integers', () => {
    expect(() => resolveSeedOptions({ ...BASE, days: 0 })).toThrow(/days/);
    expect(() => resolveSeedOptions({ ...BASE, traces: 1.5 })).toThrow(/traces/);
    expect(() => resolveSeedOptions({ ...BASE, orgs: -1 })).toThrow(/orgs/);
    expect(() => resolveSeedOptions({ ...BASE, endAt: new Date('nope') })).toThrow(/endAt/);
    const defaulted = resolveSeedOptions({ traces: 1, days: 1, orgs: 1, seed: 1 }, new Date('2026-01-01T10:20:30.456Z'));
    expect(defaulted.endAt.toISOString()).toBe('2026-01-01T10:20:00.000Z');
  });
});
