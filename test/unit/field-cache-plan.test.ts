import { buildSchema, parse } from 'graphql';
import { planOperation, project } from '../../src/cache/operation-plan';
import { cacheTtlsOf } from '../../src/cache/cache-policy';
import { SingleFlight } from '../../src/cache/single-flight';
import { CachedField, decodeEntry, encodeEntry } from '../../src/cache/entry-codec';
import { RawJson, stringifyResponse } from '../../src/cache/response-text';
import { scopeKeyOf } from '../../src/cache/cache-key';

const schema = buildSchema(`
  directive @cacheControl(maxAge: Int) on FIELD_DEFINITION
  input Range { from: String, to: String, last: String }
  type Item { id: ID!, name: String, size(unit: String = "b"): Int }
  type Page { items: [Item!]!, total: Int! }
  type Query {
    list(first: Int = 10, range: Range): Page! @cacheControl(maxAge: 30)
    one(id: ID!): Item @cacheControl(maxAge: 300)
    me: String
  }
`);
const ttls = cacheTtlsOf(schema);
const viewer = { orgId: 'org_a', role: 'VIEWER' as const, projectIds: null };
const plan = (q: string, variables?: Record<string, unknown>, v: typeof viewer | { orgId: string; role: 'ADMIN' | 'VIEWER'; projectIds: string[] | null } = viewer) =>
  planOperation({ schema, document: parse(q), variables, viewer: v, ttls, keyPrefix: 'p:' })!;
const keyOf = (q: string, variables?: Record<string, unknown>, v?: Parameters<typeof plan>[2]) => plan(q, variables, v).fields[0]!.cache!.key;

describe('operation plan and cache keys', () => {
  it('reads TTLs from @cacheControl', () => {
    expect([...ttls]).toEqual([
      ['list', 30],
      ['one', 300],
    ]);
    expect(cacheTtlsOf(schema, { list: 0, one: 5 }).get('one')).toBe(5);
    expect(cacheTtlsOf(schema, { list: 0 }).has('list')).toBe(false);
  });

  it('gives equal keys to equal questions, whatever the spelling', () => {
    const k = keyOf('{ list { total items { id name } } }');
    expect(k).toMatch(/^p:analytics:list:org_a:all:[0-9a-f]{64}$/);
    for (const q of [
      '{ list(first: 10) { items { name id } total } }',
      '{ x: list { t: total items { id n: name } } }',
      'query Q { ...F } fragment F on Query { list { total items { ... on Item { id } name } } }',
      'query($s: Boolean!) { list { total items { id name size @include(if: $s) } } }',
    ]) {
      expect(keyOf(q, { s: false })).toBe(k);
    }
    expect(keyOf('query($n: Int) { list(first: $n) { total items { id name } } }', { n: 10 })).toBe(k);
  });

  it('gives different keys to different questions and different viewers', () => {
    const k = keyOf('{ list { total } }');
    expect(keyOf('{ list(first: 11) { total } }')).not.toBe(k);
    expect(keyOf('{ list { total items { id } } }')).not.toBe(k);
    expect(keyOf('{ list(range: {last: "1h"}) { total } }')).not.toBe(keyOf('{ list(range: {last: "2h"}) { total } }'));
    expect(keyOf('{ list { total } }', {}, { ...viewer, orgId: 'org_b' })).not.toBe(k);
    expect(keyOf('{ list { total } }', {}, { ...viewer, role: 'ADMIN' })).not.toBe(k);
    expect(keyOf('{ list { total } }', {}, { ...viewer, projectIds: ['p1'] })).toMatch(/:org_a:p[0-9a-f]{16}:/);
    expect(scopeKeyOf(['b', 'a'])).toBe(scopeKeyOf(['a', 'b']));
  });

  it('stores one canonical shape and projects each request back to its own', () => {
    const p = plan('{ l: list { items { n: name big: size(unit: "kb") id small: size } } me }');
    expect(p.fields.map((f) => [f.responseKey, Boolean(f.cache)])).toEqual([
      ['l', true],
      ['me', false],
    ]);
    expect(p.allCacheable).toBe(false);
    const canonKeys = p.fields[0]!.cache!.selection.fields[0]!.children!.fields.map((f) => f.key);
    expect(canonKeys.filter((k) => k.startsWith('size__c'))).toHaveLength(2);
    const sizes = p.fields[0]!.cache!.selection.fields[0]!.children!.fields.filter((f) => f.key.startsWith('size'));
    const kb = sizes.find((f) => f.argsText.includes('"kb"'));
    const b = sizes.find((f) => f.argsText.includes('"b"'));
    const stored = { items: [{ id: '1', name: 'x', [b!.key]: 2048, [kb!.key]: 2 }] };
    expect(JSON.stringify(project(stored, p.fields[0]!.cache!.projection))).toBe(JSON.stringify({ items: [{ n: 'x', big: 2, id: '1', small: 2048 }] }));
  });

  it('leaves mutations, bad variables and unknown operations to Apollo', () => {
    expect(planOperation({ schema, document: parse('query($n: Int!) { list(first: $n) { total } }'), variables: { n: 'x' }, viewer, ttls, keyPrefix: '' })).toBeNull();
    expect(planOperation({ schema, document: parse('query A { me } query B { me }'), operationName: 'C', viewer, ttls, keyPrefix: '' })).toBeNull();
    expect(planOperation({ schema, document: parse('query A { me } query B { one(id: 1) { id } }'), operationName: 'B', viewer, ttls, keyPrefix: '' })!.allCacheable).toBe(true);
  });
});

describe('single flight', () => {
  it('lets one lead and the others wait for its value', async () => {
    const sf = new SingleFlight<number>(1000);
    const fill = sf.lead('k')!;
    expect(sf.lead('k')).toBeNull();
    const waiting = sf.follow('k')!;
    fill.settle(42);
    expect(await waiting).toBe(42);
    fill.release();
    expect(sf.follow('k')).toBeUndefined();
    expect(sf.lead('k')).not.toBeNull();
  });

  it('hands followers undefined when the leader never settles', async () => {
    const sf = new SingleFlight<number>(30);
    sf.lead('k');
    expect(await sf.follow('k')).toBeUndefined();
    expect(sf.size).toBe(0);
  });
});

describe('stored shapes', () => {
  it('stores canonical names in the filling request\'s order; a request with that shape reads the text as is', () => {
    const p = plan('{ list { total items { name id } } }');
    const c = p.fields[0]!.cache!;
    // Key material sorts; storage keeps the request's order.
    expect(c.selection.fields.map((f) => f.key)).toEqual(['items', 'total']);
    expect(c.selection.ordered.map((f) => f.key)).toEqual(['total', 'items']);
    expect(c.selection.ordered[1]!.children!.ordered.map((f) => f.key)).toEqual(['name', 'id']);
    expect(c.responseShape).toBe(c.storedShape);
    const reordered = plan('{ list { items { id name } total } }').fields[0]!.cache!;
    expect(reordered.key).toBe(c.key);
    expect(reordered.responseShape).not.toBe(c.storedShape);
    const aliased = plan('{ l: list { t: total items { name id } } }').fields[0]!.cache!;
    expect(aliased.key).toBe(c.key);
    expect(aliased.responseShape).not.toBe(c.storedShape);
  });

  it('gives every reader its own shape from one entry, projecting only when the shape differs', () => {
    const writer = plan('{ list { total items { name id } } }').fields[0]!.cache!;
    const value = { list: { total: 2, items: [{ name: 'a', id: '1' }, { name: 'b', id: '2' }] } }.list;
    const entry = new CachedField(JSON.stringify(value), writer.storedShape, 1, 30);
    expect(entry.textFor(writer)).toBe(entry.json);
    const reader = plan('{ x: list { items { i: id } total } }').fields[0]!.cache!;
    expect(entry.textFor(reader)).toBe(JSON.stringify({ items: [{ i: '1' }, { i: '2' }], total: 2 }));
    expect(entry.textFor(reader)).toBe(entry.textFor(reader));
  });

  it('splices RawJson root fields into the response body unparsed', () => {
    const body = stringifyResponse({ data: { a: new RawJson('{"x":1}'), b: [1, 'two'] }, extensions: { cost: 1 } } as never);
    expect(body).toBe('{"data":{"a":{"x":1},"b":[1,"two"]},"extensions":{"cost":1}}\n');
    expect(JSON.parse(body)).toEqual(JSON.parse(JSON.stringify({ data: { a: new RawJson('{"x":1}'), b: [1, 'two'] }, extensions: { cost: 1 } })));
    expect(stringifyResponse({ errors: [{ message: 'm' }], data: { a: new RawJson('null') } } as never)).toBe('{"errors":[{"message":"m"}],"data":{"a":null}}\n');
  });
});

describe('entry codec', () => {
  it('compresses large entries, round-trips both forms with their header, and reads other text as a miss', async () => {
    const small = { json: '{"a":1}', shape: 'abc', storedAt: 1, ttlSeconds: 30 };
    const large = { json: JSON.stringify({ rows: Array.from({ length: 500 }, (_, i) => ({ id: i, model: 'gpt-4o' })) }), shape: 'def', storedAt: 2, ttlSeconds: 60 };
    const s = await encodeEntry(small, 4096);
    const l = await encodeEntry(large, 4096);
    expect(s.startsWith('2|')).toBe(true);
    expect(l.startsWith('3|')).toBe(true);
    expect(l.length).toBeLessThan(large.json.length / 3);
    expect(await decodeEntry(s)).toMatchObject(small);
    expect(await decodeEntry(l)).toMatchObject(large);
    expect(await decodeEntry('x-garbage')).toBeUndefined();
    expect(await decodeEntry('j{"d":{"a":1},"t":1,"l":30}')).toBeUndefined(); // an earlier version's entry
  });
});
