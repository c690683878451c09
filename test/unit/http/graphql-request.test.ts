import { checkGraphQLRequest, getParameters } from '../../../src/http/graphql-request';
import type { CheckedGraphQLRequest } from '../../../src/http/graphql-request';
import { serve } from './serve';

/** A server that runs the boundary checks and echoes what passed. */
async function withChecks(fn: (base: string, passed: CheckedGraphQLRequest[]) => Promise<void>) {
  const passed: CheckedGraphQLRequest[] = [];
  const s = await serve(async (req, res) => {
    const checked = await checkGraphQLRequest(req, res, new URL(req.url ?? '/', 'http://localhost'), { maxBodyBytes: 200, maxVariablesDepth: 3 });
    if (checked) passed.push(checked), res.end('passed');
  });
  try {
    await fn(s.base, passed);
  } finally {
    await s.close();
  }
}

const codeOf = async (res: Response) => [res.status, ((await res.json()) as any).errors[0].extensions.code];
const json = { 'content-type': 'application/json' };

describe('GraphQL request boundary checks', () => {
  it('passes GET and JSON POST requests through with the parsed body', async () => {
    await withChecks(async (base, passed) => {
      expect(await (await fetch(`${base}/graphql?query={a}`)).text()).toBe('passed');
      expect(await (await fetch(base, { method: 'POST', headers: json, body: '{"query":"{a}"}' })).text()).toBe('passed');
      expect(passed).toEqual([{ method: 'GET', body: undefined }, { method: 'POST', body: { query: '{a}' } }]);
    });
  });

  it('refuses with the documented status and code', async () => {
    await withChecks(async (base, passed) => {
      const put = await fetch(base, { method: 'PUT', body: '{}' });
      expect(put.headers.get('allow')).toBe('GET, POST');
      expect(await codeOf(put)).toEqual([405, 'BAD_REQUEST']);
      const big = await fetch(base, { method: 'POST', headers: json, body: JSON.stringify({ query: 'x'.repeat(300) }) });
      expect(big.headers.get('connection')).toBe('close');
      expect(await codeOf(big)).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      expect(await codeOf(await fetch(base, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }))).toEqual([415, 'BAD_REQUEST']);
      expect(await codeOf(await fetch(base, { method: 'POST', headers: json, body: '{nope' }))).toEqual([400, 'BAD_REQUEST']);
      expect(await codeOf(await fetch(base, { method: 'POST', headers: json, body: '{"variables":{"a":[[[[1]]]]}}' }))).toEqual([400, 'BAD_USER_INPUT']);
      expect(await codeOf(await fetch(`${base}/graphql?query=${encodeURIComponent('{a(s:"\u0000")}')}`))).toEqual([400, 'BAD_USER_INPUT']);
      expect(passed).toEqual([]);
    });
  });

  it('decodes GET variables and extensions as JSON, leaving malformed ones to Apollo', () => {
    const url = new URL('http://x/graphql?query=q&variables=%7B%22a%22%3A1%7D&extensions=not-json&other=1');
    expect(getParameters(url)).toEqual({ query: 'q', variables: { a: 1 }, extensions: 'not-json' });
  });
});
