import { sql } from 'kysely';
import { createLoaders } from '../../../src/loaders';
import type { NewTrace } from '../../../src/db/schema';
import { buildTraces, ensureOrgs, insertTraces } from '../../support/trace-builder';
import { scope, useTestContext } from '../../support/test-context';

/**
 * The request loaders against the embedded database, checked against SQL written here
 * independently of the repositories (as Phoenix tests its dataloaders): one statement per
 * batch, answers in key order, defaults for missing keys, and the tenant boundary between two
 * orgs that share session ids.
 */
const t = useTestContext();
const FROM = new Date('2026-11-01T00:00:00Z');
const TO = new Date('2026-11-03T00:00:00Z');

/** 300 spans in two orgs, grouped three to a W3C trace (same org, same session). */
function spans(): NewTrace[] {
  const rows = buildTraces(300, { from: FROM, to: TO, seed: 11 });
  for (let i = 0; i < rows.length; i += 3) {
    const head = rows[i]!;
    for (const r of rows.slice(i + 1, i + 3)) Object.assign(r, { trace_id: head.trace_id, org_id: head.org_id, project_id: head.project_id, session_id: head.session_id });
  }
  return rows;
}

async function seed(): Promise<NewTrace[]> {
  await ensureOrgs(t.db.db, ['org_a', 'org_b']);
  const rows = spans();
  await insertTraces(t.db.db, rows);
  return rows;
}

/** The independent side: plain SQL through Kysely's raw tag, no repository code. */
const raw = async <R>(q: ReturnType<typeof sql<R>>) => (await q.execute(t.db.db)).rows;

describe('loaders against independent SQL (embedded database)', () => {
  it('spansByTraceId: one statement per batch, key order, [] for unknown and other-org traces', async () => {
    const rows = await seed();
    const a = rows.filter((r) => r.org_id === 'org_a').map((r) => r.trace_id);
    const b = rows.find((r) => r.org_id === 'org_b')!.trace_id;
    const keys = [a[9]!, 'f'.repeat(32), b, a[0]!, a[3]!];
    const loaders = createLoaders(t.services, scope('org_a'));
    const stmts = t.statements('findSpansByTraceIds');
    const got = await Promise.all(keys.map((k) => loaders.spansByTraceId.load(k)));
    expect(stmts.count()).toBe(1);
    for (const [i, k] of keys.entries()) {
      const want = await raw(sql<{ id: string }>`SELECT id FROM traces WHERE org_id = 'org_a' AND trace_id = ${k} ORDER BY ts, id`);
      expect(got[i]!.map((r) => r.id)).toEqual(want.map((r) => r.id));
    }
    expect(got[0]).toHaveLength(3);
    expect(got[1]).toEqual([]);
    expect(got[2]).toEqual([]);
  });

  it('sessionById: sums per session within the org only; unknown ids are null', async () => {
    await seed();
    const ids = ['sess_3', 'sess_nope', 'sess_7', 'sess_1'];
    for (const org of ['org_a', 'org_b']) {
      const loaders = createLoaders(t.services, scope(org));
      const stmts = t.statements('findSessionsByIds');
      const got = await Promise.all(ids.map((id) => loaders.sessionById.load(id)));
      expect(stmts.count()).toBe(1);
      const want = await raw(sql<{ session_id: string; n: number; tokens: number; errors: number }>`
        SELECT session_id, count(*)::int AS n, sum(total_tokens)::int AS tokens, count(*) FILTER (WHERE status_code >= 400)::int AS errors
          FROM traces WHERE org_id = ${org} AND session_id = ANY(${ids}::text[]) GROUP BY session_id`);
      const byId = new Map(want.map((w) => [w.session_id, w]));
      for (const [i, id] of ids.entries()) {
        const w = byId.get(id);
        if (!w) expect(got[i]).toBeNull();
        else expect([got[i]!.session_id, got[i]!.trace_count, got[i]!.total_tokens, got[i]!.error_count]).toEqual([id, w.n, w.tokens, w.errors]);
      }
      expect(got[1]).toBeNull();
    }
  });

  it('sessionById: a project-scoped key sees only its project\'s traces of a session', async () => {
    await seed();
    const loaders = createLoaders(t.services, scope('org_a', ['org_a_p1']));
    const s = await loaders.sessionById.load('sess_3');
    const [w] = await raw(sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = 'org_a' AND project_id = 'org_a_p1' AND session_id = 'sess_3'`);
    if (w!.n === 0) expect(s).toBeNull();
    else expect([s!.trace_count, s!.project_ids]).toEqual([w!.n, ['org_a_p1']]);
  });

  it('scoresByTraceId: scores per trace in one statement; none for traces of another org', async () => {
    const rows = await seed();
    const a = rows.filter((r) => r.org_id === 'org_a');
    const b = rows.find((r) => r.org_id === 'org_b')!;
    const scored = [a[0]!, a[3]!, b];
    for (const [i, r] of scored.entries()) {
      await t.db.db
        .insertInto('scores')
        .values([0, 1].map((j) => ({ trace_id: r.id, ts: new Date(FROM.getTime() + i * 1000 + j), trace_ts: r.ts, org_id: r.org_id, project_id: r.project_id, name: `s${j}`, value: i + j / 2, label: null, source: 'human' as const, comment: null })))
        .execute();
    }
    const keys = [a[3]!.id, b.id, a[1]!.id, a[0]!.id];
    const loaders = createLoaders(t.services, scope('org_a'));
    const stmts = t.statements('findScoresByTraceIds');
    const got = await Promise.all(keys.map((k) => loaders.scoresByTraceId.load(k)));
    expect(stmts.count()).toBe(1);
    for (const [i, k] of keys.entries()) {
      const want = await raw(sql<{ id: string }>`SELECT id FROM scores WHERE org_id = 'org_a' AND trace_id = ${k} ORDER BY ts, id`);
      expect(got[i]!.map((s) => s.id)).toEqual(want.map((w) => w.id));
    }
    expect(got.map((g) => g.length)).toEqual([2, 0, 0, 2]);
  });

  it('projectById: rows in key order; another org\'s project and unknown ids are null', async () => {
    await seed();
    const loaders = createLoaders(t.services, scope('org_a'));
    const stmts = t.statements('findProjectsByIds');
    const got = await Promise.all(['org_a_p1', 'org_b_p0', 'nope', 'org_a_p0'].map((id) => loaders.projectById.load(id)));
    expect(stmts.count()).toBeLessThanOrEqual(1);
    expect(got.map((p) => p?.id ?? null)).toEqual(['org_a_p1', null, null, 'org_a_p0']);
  });

  it('projectStatsByRange: one aggregate per range for all its projects, empty stats for a missing one', async () => {
    await seed();
    const loaders = createLoaders(t.services, scope('org_b'));
    const day1 = { from: FROM, to: new Date('2026-11-02T00:00:00Z') };
    const keys = [
      { projectId: 'org_b_p1', ...day1 },
      { projectId: 'org_a_p0', ...day1 },
      { projectId: 'org_b_p0', ...day1 },
      { projectId: 'org_b_p0', from: FROM, to: TO },
    ];
    const stmts = t.statements('sumTraceStats');
    const got = await Promise.all(keys.map((k) => loaders.projectStatsByRange.load(k)));
    expect(stmts.count()).toBe(2);
    for (const [i, k] of keys.entries()) {
      const [w] = await raw(sql<{ n: number; errors: number; tokens: number }>`
        SELECT count(*)::int AS n, count(*) FILTER (WHERE status_code >= 400)::int AS errors, coalesce(sum(total_tokens), 0)::int AS tokens
          FROM traces WHERE org_id = 'org_b' AND project_id = ${k.projectId} AND ts >= ${k.from} AND ts < ${k.to}`);
      expect([got[i]!.n, got[i]!.errors, got[i]!.totalTokens]).toEqual([w!.n, w!.errors, w!.tokens]);
    }
    expect(got[1]!.n).toBe(0);
    expect(got[0]!.n).toBeGreaterThan(0);
  });

  it('starts every test from the migrated, empty tables (the context truncates)', async () => {
    const [c] = await raw(sql<{ traces: number; scores: number; orgs: number }>`
      SELECT (SELECT count(*) FROM traces)::int AS traces, (SELECT count(*) FROM scores)::int AS scores, (SELECT count(*) FROM orgs)::int AS orgs`);
    expect(c).toEqual({ traces: 0, scores: 0, orgs: 0 });
  });
});
