import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql as tag } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';
import { REDIS_URL, deleteKeysWithPrefix, keysWithPrefix, startCacheFixture, uniquePrefix, type CacheFixture } from '../support/cache-fixture';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Sent {
  method: string;
  url: string;
  body: { query?: string; extensions?: { persistedQuery?: { sha256Hash: string } } } | null;
  status: number;
  cacheControl: string | null;
}

/** Apollo Client with its persisted-queries link, over real HTTP, recording what it sends. */
function apqClient(url: string, key: string, opts: { get?: boolean } = {}) {
  const sent: Sent[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    sent.push({
      method: init?.method ?? 'GET',
      url: String(input),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : null,
      status: res.status,
      cacheControl: res.headers.get('cache-control'),
    });
    return res;
  };
  const link = new PersistedQueryLink({ sha256: async (q: string) => sha256(q), useGETForHashedQueries: opts.get ?? false }).concat(
    new HttpLink({ uri: url, fetch: recordingFetch, headers: { authorization: `Bearer ${key}`, 'apollo-require-preflight': 'true' } }),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), sent };
}

describe('persisted queries (APQ) end to end with Apollo Client', () => {
  let f: CacheFixture;
  beforeAll(async () => {
    f = await startCacheFixture('apq', {}, { traces: 500 });
  }, 300_000);
  afterAll(async () => {
    await f?.stop();
  });

  const QUERY = tag`
    query Dash($n: Int) {
      traces(first: $n) {
        nodes {
          id
          model
        }
      }
    }
  `;

  it('registers on the first miss, then sends only the hash (also from a second client)', async () => {
    const key = f.keys[`${f.orgs[0]}:ADMIN`]!;
    const one = apqClient(f.gw.url, key);
    const r1 = await one.client.query({ query: QUERY, variables: { n: 3 }, fetchPolicy: 'no-cache' });
    expect((r1.data as any).traces.nodes).toHaveLength(3);
    expect(one.sent).toHaveLength(2);
    expect(one.sent[0]!.body?.query).toBeUndefined(); // hash only → PERSISTED_QUERY_NOT_FOUND
    expect(one.sent[1]!.body?.query).toBeDefined(); // retried with the text: registered
    const hash = one.sent[0]!.body!.extensions!.persistedQuery!.sha256Hash;
    expect(hash).toBe(sha256(one.sent[1]!.body!.query!)); // the text as the client prints it
    expect(await keysWithPrefix(f.redis, `${f.prefix}apq:${hash}`)).toHaveLength(1);

    // Another client (as if another browser, or another gateway instance behind the same Redis).
    const two = apqClient(f.gw.url, key, { get: true });
    const r2 = await two.client.query({ query: QUERY, variables: { n: 3 }, fetchPolicy: 'no-cache' });
    expect(r2.data).toEqual(r1.data);
    expect(two.sent).toHaveLength(1);
    expect(two.sent[0]!.method).toBe('GET');
    expect(two.sent[0]!.url).not.toContain('query=');
    expect(two.sent[0]!.cacheControl).toBe('private, max-age=30');
  });

  it('refuses a text whose hash does not match', async () => {
    const res = await fetch(f.gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${f.keys[`${f.orgs[0]}:ADMIN`]}` },
      body: JSON.stringify({ query: '{ viewer { orgId } }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ viewer { role } }') } } }),
    });
    // Apollo refuses it with 400 before anything runs; the formatter keeps its message and codes it.
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/does not match/);
  });

  it('answers PERSISTED_QUERY_NOT_FOUND for an unknown hash', async () => {
    const res = await fetch(f.gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${f.keys[`${f.orgs[0]}:ADMIN`]}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('never sent') } } }),
    });
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  describe('safelist mode', () => {
    let gw: RunningGateway;
    const prefix = uniquePrefix('safelist');
    const listed = '{ viewer { orgId role } }';
    let dir: string;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safelist-'));
      const manifest = { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: sha256(listed), body: listed, name: 'Me', type: 'query' }] };
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      gw = await startTestGateway({
        DATABASE_URL: f.gw.services.config.database.url!,
        DATABASE_MODE: 'postgres',
        DB_POOL_MIN: '0',
        DEMO_DATA: 'false',
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_ENABLED: 'false',
        CACHE_WARM_ON_START: 'false',
        PERSISTED_QUERIES_SAFELIST: path.join(dir, 'manifest.json'),
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await deleteKeysWithPrefix(f.redis, prefix);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('runs listed operations, by text or by hash alone', async () => {
      const key = f.keys[`${f.orgs[0]}:VIEWER`]!;
      const byText = await gql(gw.url, key, listed);
      expect(byText.body.data.viewer).toEqual({ orgId: f.orgs[0], role: 'VIEWER' });
      const byHash = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(listed) } } }),
      });
      expect(((await byHash.json()) as any).data.viewer.orgId).toBe(f.orgs[0]);
    });

    it('refuses anything else with PERSISTED_QUERY_NOT_IN_SAFELIST (400), also through APQ registration', async () => {
      const key = f.keys[`${f.orgs[0]}:ADMIN`]!;
      const other = await gql(gw.url, key, '{ viewer { orgId } }');
      expect(other.status).toBe(400);
      expect(other.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
      const c = apqClient(gw.url, key);
      await expect(c.client.query({ query: QUERY, variables: { n: 1 }, fetchPolicy: 'no-cache' })).rejects.toThrow(/safelist/);
      expect(c.sent.at(-1)!.status).toBe(400);
      expect(await keysWithPrefix(f.redis, `${prefix}apq:`)).toEqual([]);
    });
  });
});
