import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { sql as kyselySql } from 'kysely';
import type { Database } from '../../../src/db/schema';
import type { Scope } from '../../../src/auth/viewer';
import { sql, unionAll } from '../../../src/query/sql-text';
import { termsSql, traceConditions, traceConditionsSql, type TraceFilter } from '../../../src/query/trace-filter';

const kysely = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

describe('sql-text', () => {
  it('binds every value as a numbered parameter, nested fragments in order', () => {
    const inner = sql`b = ${2} AND c = ${'x'}`;
    const { text, parameters } = sql`SELECT 1 WHERE a = ${1} AND ${inner} AND d = ${[3, 4]}::int[]`.compile();
    expect(text).toBe('SELECT 1 WHERE a = $1 AND b = $2 AND c = $3 AND d = $4::int[]');
    expect(parameters).toEqual([1, 2, 'x', [3, 4]]);
  });

  it('never splices a value into the text, even one that looks like SQL', () => {
    const { text, parameters } = sql`SELECT ${"1; DROP TABLE traces --"}`.compile();
    expect(text).toBe('SELECT $1');
    expect(parameters).toEqual(['1; DROP TABLE traces --']);
  });

  it('writes literals, identifiers, joins and unions as Kysely does', () => {
    expect(sql`${sql.lit(3)} ${sql.lit("it's")}`.compile().text).toBe(`3 'it''s'`);
    expect(() => sql.lit(Number.NaN)).toThrow(/finite/);
    expect(sql`${sql.ref('traces.input')}, ${sql.ref('bucket')} FROM ${sql.table('traces_1hour')}`.compile().text).toBe('"traces"."input", "bucket" FROM "traces_1hour"');
    expect(sql.ref('a"b').compile().text).toBe('"a""b"');
    const joined = sql.join([sql`x = ${1}`, sql`y = ${2}`], sql` OR `).compile();
    expect(joined).toEqual({ text: 'x = $1 OR y = $2', parameters: [1, 2] });
    expect(sql.join([sql.raw('a'), sql.raw('b')]).compile().text).toBe('a, b');
    expect(unionAll([sql`SELECT ${1}`, sql`SELECT ${2}`]).compile()).toEqual({ text: 'SELECT $1 UNION ALL SELECT $2', parameters: [1, 2] });
    expect(sql`a${sql.empty}b`.compile().text).toBe('ab');
  });

  it('refuses a Kysely fragment (it would be bound as a value)', () => {
    expect(() => sql`SELECT ${kyselySql`1`}`).toThrow(/Kysely expression/);
  });

  it('writes the trace filter with the same conditions and values as the Kysely builder of the lists', () => {
    const scope: Scope = { orgId: 'org-1', projectIds: ['p1', 'p2'] };
    const filter: TraceFilter = {
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-02T00:00:00Z'),
      projectIds: ['p1'],
      providers: ['openai', 'anthropic'],
      models: ['gpt-4o'],
      userIds: ['u1'],
      sessionIds: ['s1'],
      traceIds: ['0af7651916cd43dd8448eb211c80319c'],
      environments: ['production'],
      operations: ['chat'],
      status: 'ERROR',
      statusCodes: [500, 503],
      tags: ['a', 'b'],
      minCostUsd: 0.5,
      maxCostUsd: 2,
      minDurationMs: 10,
      maxDurationMs: 1000,
      minTokens: 1,
      maxTokens: 99,
      errorTypes: ['timeout'],
    };
    for (const f of [filter, {}, { status: 'OK' as const }]) {
      const k = kysely.selectFrom('traces').select('id').where((eb) => traceConditions(eb, scope, f)).compile();
      const ours = sql`select "id" from "traces" where ${traceConditionsSql(scope, f)}`.compile();
      const norm = (s: string) => s.replace(/"/g, '').toLowerCase();
      expect(norm(ours.text)).toBe(norm(k.sql));
      expect(ours.parameters).toEqual(k.parameters);
    }
  });

  it('an empty list matches nothing rather than writing invalid SQL', () => {
    expect(termsSql([{ column: 'model', op: 'in', value: [] }]).compile().text).toBe('(false)');
  });
});
