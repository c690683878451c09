import http from 'node:http';
import net from 'node:net';
import type { RunningGateway } from '../../src/app';
import { startTestGateway } from '../support/gateway';

/**
 * The issue-13 examples, each over real HTTP against a real gateway (embedded database, demo
 * data): every one answers a coded error with a 4xx status or a coded error in the body,
 * never a 500, a reset connection or the database's text.
 */
describe('hostile requests get coded errors, never 500s or database text', () => {
  let gw: RunningGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = gw.demoKeys.find((k) => k.role === 'ADMIN')!.key;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** POSTs a raw body; the answer must be JSON. */
  async function post(body: string, headers: Record<string, string> = {}) {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers }, body });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as { data?: any; errors?: { message: string; extensions: { code: string } }[] } };
  }
  const op = (query: string, variables?: unknown, operationName?: string) => post(JSON.stringify({ query, variables, operationName }));
  const cursor = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
  const UUID = '00000000-0000-4000-8000-000000000000';
  const codes = (r: { body: { errors?: { extensions: { code: string } }[] } }) => (r.body.errors ?? []).map((e) => e.extensions.code);

  /** No database text: PostgreSQL's messages have these shapes. */
  function expectNoDatabaseText(text: string) {
    expect(text).not.toMatch(/invalid byte sequence|invalid input syntax|out of range|date\/time field|syntax error at|relation "|column "|violates|SQLSTATE/i);
  }

  it('1. an unknown operationName, or several operations without one: 400 BAD_USER_INPUT', async () => {
    const unknown = await op('{ viewer { orgId } }', undefined, 'Q');
    expect(unknown.status).toBe(400);
    expect(codes(unknown)).toEqual(['BAD_USER_INPUT']);
    const several = await op('query A { viewer { orgId } } query B { viewer { role } }');
    expect(several.status).toBe(400);
    expect(codes(several)).toEqual(['BAD_USER_INPUT']);
  });

  it('1. a coded user error from a pricing hook carries its status (400, not 500)', async () => {
    // Pricing reads page sizes before anything runs; an out-of-range one is refused there.
    const r = await op('query($n: Int) { traces(first: $n) { nodes { id } } }', { n: 5000 });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
    // A relative range pricing cannot read is left to the resolver: a field error, HTTP 200.
    const range = await op('{ performance(range: {last: "24 hours"}) { totals { requestCount } } }');
    expect(range.status).toBe(200);
    expect(codes(range)).toEqual(['BAD_USER_INPUT']);
  });

  it('2. variables nested 5,000 levels deep (not even declared): 400 BAD_USER_INPUT, on POST and GET', async () => {
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const r = await post(`{"query":"{ viewer { orgId } }","variables":{"x":${deep}}}`);
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
    const g = await fetch(`${gw.url}?query=${encodeURIComponent('{ viewer { orgId } }')}&variables=${encodeURIComponent(`{"x":${'['.repeat(1000)}${']'.repeat(1000)}}`)}`, {
      headers: { authorization: `Bearer ${admin}`, 'apollo-require-preflight': 'true' },
    });
    expect(g.status).toBe(400);
    expect(((await g.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    // Ordinary nesting (a filter object in a variable) still passes.
    const ok = await op('query($f: TraceFilter) { traces(filter: $f, first: 1) { nodes { id } } }', { f: { models: ['gpt-4o'], tags: ['a'] } });
    expect(ok.body.errors).toBeUndefined();
  });

  describe('3. a NUL character in any string argument: 400 BAD_USER_INPUT', () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ['TraceFilter lists', 'query($v: [String!]) { traces(filter: {models: $v}) { nodes { id } } }', { v: ['gpt\u00004o'] }],
      ['TraceFilter projectIds', 'query($v: [ID!]) { traces(filter: {projectIds: $v}) { nodes { id } } }', { v: ['p\u0000'] }],
      ['TraceFilter tags', 'query($v: [String!]) { sessions(filter: {tags: $v}) { nodes { id } } }', { v: ['\u0000'] }],
      ['searchTraces query', 'query($v: String!) { searchTraces(query: $v) { nodes { id } } }', { v: 'abc\u0000def' }],
      ['quality names', 'query($v: [String!]) { quality(range: {last: "24h"}, names: $v) { scores { name } } }', { v: ['helpful\u0000'] }],
      ['compareModels models', 'query($v: [String!]!) { compareModels(models: $v, range: {last: "24h"}) { models { model } } }', { v: ['gpt\u0000'] }],
      ['project id', 'query($v: ID!) { project(id: $v) { id } }', { v: 'proj\u0000' }],
      ['session id', 'query($v: ID!) { session(id: $v) { id } }', { v: 's\u0000' }],
    ];
    it.each(cases)('%s, as a variable and as a literal', async (_name, query, variables) => {
      const asVariable = await op(query, variables);
      expect(asVariable.status).toBe(400);
      expect(codes(asVariable)).toEqual(['BAD_USER_INPUT']);
      // The same value written into the document as a string literal (JSON escapes stay escapes).
      const v = variables.v;
      const literal = JSON.stringify(v).replace(/\u0000/g, '\\u0000');
      const inline = query.replace(/^query\([^)]*\) /, '').replace('$v', literal);
      const asLiteral = await op(inline);
      expect(asLiteral.status).toBe(400);
      expect(codes(asLiteral)).toEqual(['BAD_USER_INPUT']);
      expectNoDatabaseText(asVariable.text + asLiteral.text);
    });
    it('in a GET query string (%00)', async () => {
      const res = await fetch(`${gw.url}?query=${encodeURIComponent('{ project(id: "x") { id } }')}&operationName=%00`, {
        headers: { authorization: `Bearer ${admin}`, 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('4. forged cursors that pass the format check: BAD_USER_INPUT, no database text', () => {
    const traces = 'query($a: Cursor) { traces(after: $a) { nodes { id } } }';
    const byTokens = 'query($a: Cursor) { traces(after: $a, orderBy: {field: TOKENS}) { nodes { id } } }';
    const cases: Array<[string, string, unknown[]]> = [
      ['February 30th', traces, ['TIMESTAMP:DESC', null, '2026-02-30T00:00:00.000000Z', UUID]],
      ['month 99', traces, ['TIMESTAMP:DESC', null, '2026-99-01T00:00:00.000000Z', UUID]],
      ['year 0000', traces, ['TIMESTAMP:DESC', null, '0000-01-01T00:00:00.000000Z', UUID]],
      ['hour 25', traces, ['TIMESTAMP:DESC', null, '2026-01-01T25:00:00.000000Z', UUID]],
      ['TOKENS 1.5', byTokens, ['TOKENS:DESC', 1.5, '2026-01-01T00:00:00.000000Z', UUID]],
      ['TOKENS 2^31', byTokens, ['TOKENS:DESC', 2 ** 31, '2026-01-01T00:00:00.000000Z', UUID]],
      ['TOKENS 1e308', byTokens, ['TOKENS:DESC', 1e308, '2026-01-01T00:00:00.000000Z', UUID]],
      ['TOKENS "1.5" as text', byTokens, ['TOKENS:DESC', '1.5', '2026-01-01T00:00:00.000000Z', UUID]],
      ['COST 1e308', 'query($a: Cursor) { traces(after: $a, orderBy: {field: COST}) { nodes { id } } }', ['COST:DESC', 1e308, '2026-01-01T00:00:00.000000Z', UUID]],
      ['session cursor 2026-01-01T1Z', 'query($a: Cursor) { sessions(after: $a) { nodes { id } } }', ['S', '2026-01-01T1Z', 'sess']],
      ['session cursor February 30th', 'query($a: Cursor) { sessions(after: $a) { nodes { id } } }', ['S', '2026-02-30T00:00:00.000000Z', 'sess']],
    ];
    it.each(cases)('%s', async (_name, query, parts) => {
      const r = await op(query, { a: cursor(parts) });
      expect(r.status).toBeLessThan(500);
      expect(codes(r)).toEqual(['BAD_USER_INPUT']);
      expectNoDatabaseText(r.text);
    });
    it('cursors the API returned still page', async () => {
      const first = await op('{ traces(first: 2, orderBy: {field: TOKENS}) { pageInfo { endCursor } } sessions(first: 1, filter: {last: "7d"}) { pageInfo { endCursor } } }');
      const next = await op('query($a: Cursor, $s: Cursor) { traces(first: 2, after: $a, orderBy: {field: TOKENS}) { nodes { id } } sessions(first: 1, after: $s, filter: {last: "7d"}) { nodes { id } } }', {
        a: first.body.data.traces.pageInfo.endCursor,
        s: first.body.data.sessions.pageInfo.endCursor,
      });
      expect(next.body.errors).toBeUndefined();
      expect(next.body.data.traces.nodes).toHaveLength(2);
    });
  });

  it('5. a chunked body (no Content-Length) over 1 MiB: 413 PAYLOAD_TOO_LARGE, not a reset', async () => {
    const u = new URL(gw.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const write = () => {
        while (sent < 40) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('6. a subscription: 400 BAD_USER_INPUT', async () => {
    const r = await op('subscription { viewer { orgId } }');
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
  });

  describe('7. headers and media types', () => {
    /** Raw HTTP, since fetch refuses to send some of these. */
    function raw(request: string): Promise<string> {
      const u = new URL(gw.url);
      return new Promise((resolve, reject) => {
        const socket = net.connect(Number(u.port), u.hostname, () => socket.write(request));
        let out = '';
        socket.on('data', (c) => (out += c));
        socket.on('end', () => resolve(out));
        socket.on('error', reject);
      });
    }
    const bodyOf = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));

    it('a 64 KB Authorization header: JSON 431', async () => {
      const res = await raw(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${'k'.repeat(65536)}\r\nContent-Length: 2\r\n\r\n{}`);
      expect(res).toMatch(/^HTTP\/1\.1 431 /);
      expect(res.toLowerCase()).toContain('content-type: application/json');
      expect(bodyOf(res).errors[0].extensions.code).toBe('BAD_REQUEST');
    });
    it('a GET query string longer than the header limit: JSON 431', async () => {
      const res = await raw(`GET /graphql?query=${'%20'.repeat(8000)}${encodeURIComponent('{viewer{orgId}}')} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(res).toMatch(/^HTTP\/1\.1 431 /);
      expect(bodyOf(res).errors[0].extensions.limit).toBe(16384);
    });
    it('garbage instead of HTTP: JSON 400', async () => {
      const res = await raw('NOT HTTP AT ALL\r\n\r\n');
      expect(res).toMatch(/^HTTP\/1\.1 400 /);
      expect(bodyOf(res).errors[0].extensions.code).toBe('BAD_REQUEST');
    });
    it('Content-Type is parsed as a media type: case-insensitive, UTF-8 only, no look-alikes', async () => {
      const q = JSON.stringify({ query: '{ viewer { orgId } }' });
      for (const type of ['Application/JSON', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"', ' application/json ']) {
        const r = await post(q, { 'content-type': type });
        expect([type, r.status, r.body.data?.viewer?.orgId]).toEqual([type, 200, 'org_acme']);
      }
      for (const type of ['application/jsonx', 'application/json; charset=utf-16', 'text/plain', 'application/json+x', 'application/ json', 'json']) {
        const r = await post(q, { 'content-type': type });
        expect([type, r.status, codes(r)]).toEqual([type, 415, ['BAD_REQUEST']]);
      }
    });
  });

  it('the gateway is healthy afterwards', async () => {
    const ready = await fetch(gw.url.replace('/graphql', '/health/ready'));
    expect(ready.status).toBe(200);
  });
});
