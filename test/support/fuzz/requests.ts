import fc from 'fast-check';
import type { FuzzOperation } from './schema-arbitraries';

/** One HTTP request as the fuzzer sends it. */
export interface FuzzRequest {
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  /** Path and query string. */
  readonly path: string;
  readonly body?: string;
  /** Whose key: the fuzzed org's ADMIN, DEVELOPER, VIEWER or BILLING key, or none. */
  readonly role: 'ADMIN' | 'DEVELOPER' | 'VIEWER' | 'BILLING' | 'NONE';
  readonly describe: string;
}

const CONTENT_TYPES = ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/jsonx', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ';;;', ''];

/** Requests around the documents: bodies that are not quite GraphQL, GET, batches, odd headers. */
export function requestArbitrary(operations: fc.Arbitrary<FuzzOperation>): fc.Arbitrary<FuzzRequest> {
  const role = fc.constantFrom('ADMIN', 'ADMIN', 'ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'NONE') as fc.Arbitrary<FuzzRequest['role']>;
  const json = (o: FuzzOperation) => {
    try {
      return JSON.stringify(o);
    } catch {
      return '{}';
    }
  };
  const post = fc.tuple(operations, role).map(([o, r]): FuzzRequest => ({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: json(o), role: r, describe: 'operation' }));
  const get = fc.tuple(operations, role).map(([o, r]): FuzzRequest => {
    const q = new URLSearchParams({ query: o.query, variables: json({ ...o, query: '' }).length < 4000 ? JSON.stringify(o.variables) : '{}' });
    if (o.operationName) q.set('operationName', o.operationName);
    return { method: 'GET', path: `/graphql?${q}`, headers: { 'apollo-require-preflight': 'true' }, role: r, describe: 'GET operation' };
  });
  const oddBody = fc
    .tuple(
      fc.oneof(
        operations.map(json),
        fc.string({ maxLength: 200 }),
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        operations.map((o) => JSON.stringify([o, o])), // batch
        operations.map((o) => JSON.stringify({ ...o, extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } })),
        fc.integer({ min: 40, max: 3000 }).map((n) => `{"query":"{ viewer { orgId } }","variables":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`),
        fc.integer({ min: 10, max: 400 }).map((n) => JSON.stringify({ query: `{ ${'traces { nodes { session { traces { nodes { '.repeat(n % 40)} id ${'} } } } } '.repeat(n % 40)} }` })),
        fc.integer({ min: 1, max: 200 }).map((n) => JSON.stringify({ query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { orgId }`).join(' ')} }` })),
        fc.string({ unit: 'binary', maxLength: 200 }).map((s) => JSON.stringify({ query: s })),
      ),
      fc.constantFrom(...CONTENT_TYPES),
      role,
    )
    .map(([body, type, r]): FuzzRequest => ({ method: 'POST', path: '/graphql', headers: type ? { 'content-type': type } : {}, body, role: r, describe: `odd body (${type || 'no content-type'})` }));
  return fc.oneof({ weight: 6, arbitrary: post }, { weight: 1, arbitrary: get }, { weight: 2, arbitrary: oddBody });
}
