import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, NewTrace } from '../../src/db/schema';

/** Small deterministic PRNG so test data is the same on every run. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uuidFrom(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const MODELS = [
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  ['anthropic', 'claude-sonnet-4'],
  ['google', 'gemini-2.0-flash'],
] as const;

/** Rows spread uniformly over [from, to) across two orgs, a few projects, models and environments. */
export function buildTraces(n: number, opts: { from: Date; to: Date; seed?: number; orgs?: string[] }): NewTrace[] {
  const rand = prng(opts.seed ?? 7);
  const orgs = opts.orgs ?? ['org_a', 'org_b'];
  const span = opts.to.getTime() - opts.from.getTime();
  const rows: NewTrace[] = [];
  for (let i = 0; i < n; i++) {
    const org = orgs[Math.floor(rand() * orgs.length)] as string;
    const [provider, model] = MODELS[Math.floor(rand() * MODELS.length)] as readonly [string, string];
    const prompt = 50 + Math.floor(rand() * 2000);
    const completion = 10 + Math.floor(rand() * 800);
    const pc = (prompt / 1000) * 0.0025;
    const cc = (completion / 1000) * 0.01;
    const error = rand() < 0.05;
    rows.push({
      ts: new Date(opts.from.getTime() + Math.floor(rand() * span)),
      id: uuidFrom(rand),
      trace_id: uuidFrom(rand).replace(/-/g, ''),
      span_id: uuidFrom(rand).replace(/-/g, '').slice(0, 16),
      parent_span_id: null,
      org_id: org,
      project_id: `${org}_p${Math.floor(rand() * 2)}`,
      provider,
      model,
      operation: 'chat',
      user_id: `user_${Math.floor(rand() * 20)}`,
      session_id: `sess_${Math.floor(rand() * 50)}`,
      environment: rand() < 0.8 ? 'production' : 'staging',
      status_code: error ? 500 : 200,
      error_type: error ? 'server_error' : null,
      duration_ms: Math.round(Math.exp(5 + rand() * 4) * 1000) / 1000,
      ttft_ms: rand() < 0.9 ? Math.round(rand() * 500 * 1000) / 1000 : null,
      prompt_tokens: prompt,
      completion_tokens: completion,
      cached_tokens: 0,
      total_tokens: prompt + completion,
      prompt_cost_usd: pc.toFixed(8),
      completion_cost_usd: cc.toFixed(8),
      total_cost_usd: (Number(pc.toFixed(8)) + Number(cc.toFixed(8))).toFixed(8),
      input: `question ${i}`,
      output: `answer ${i}`,
      metadata: JSON.stringify({ i }),
      tags: ['test'],
    });
  }
  return rows;
}

export async function ensureOrgs(db: Kysely<Database>, orgs: string[]): Promise<void> {
  for (const org of orgs) {
    await db.insertInto('orgs').values({ id: org, name: org.toUpperCase() }).onConflict((oc) => oc.doNothing()).execute();
    for (const p of [0, 1]) {
      await db
        .insertInto('projects')
        .values({ id: `${org}_p${p}`, org_id: org, name: `${org} project ${p}` })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }
}

/** Batches stay small: PGlite behind its socket fails on very large bind messages. */
export async function insertTraces(db: Kysely<Database>, rows: NewTrace[], batch = 100): Promise<void> {
  for (let i = 0; i < rows.length; i += batch) {
    await db.insertInto('traces').values(rows.slice(i, i + batch)).execute();
  }
}

export const newId = () => randomUUID();
