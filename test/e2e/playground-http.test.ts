import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { RunningGateway } from '../../src/app';
import { PLAYGROUND_CSP, createPlaygroundHandler } from '../../src/playground/playground-handler';
import { startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * The playground's HTTP side: the page and its bundles under a strict CSP, GET /graphql giving
 * the page to browsers only, and the CSRF protection of /graphql unchanged for everything else.
 * (What the page does is tested in a real browser: playground-browser.test.ts.)
 */
async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { method, headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Without fetch's transparent decompression: the bytes as sent. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('playground over HTTP', () => {
  let pg: TestDatabase;
  let gw: RunningGateway;
  let off: RunningGateway;
  let origin: string;

  beforeAll(async () => {
    pg = await createTestDatabase('playground');
    gw = await startTestGateway({ DATABASE_URL: pg.url, CACHE_WARM_ON_START: 'false' });
    off = await startTestGateway({ DATABASE_URL: pg.url, CACHE_WARM_ON_START: 'false', PLAYGROUND_ENABLED: 'false' });
    origin = new URL(gw.url).origin;
  });
  afterAll(async () => {
    await gw?.stop();
    await off?.stop();
    await pg?.drop();
  });

  it('serves the page under a strict CSP, and every bundle it names from this gateway', async () => {
    expect(gw.playgroundUrl).toBe(`${origin}/playground`);
    const page = await get(`${origin}/playground`, { accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(PLAYGROUND_CSP);
    expect(PLAYGROUND_CSP).toMatch(/default-src 'none'/);
    expect(PLAYGROUND_CSP).not.toMatch(/unsafe-eval|https?:|\*/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = page.body.toString('utf8');
    expect(html).not.toMatch(/<script>|https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/playground\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBe(2);
    for (const a of assets) {
      const plain = await get(`${origin}${a}`);
      expect([a, plain.status]).toEqual([a, 200]);
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.headers.get('content-security-policy')).toBe(PLAYGROUND_CSP);
      // No bundle points at another host for code: no CDN, no import of a URL.
      const text = plain.body.toString('utf8');
      expect(text).not.toMatch(/import\s*\(?\s*["']https?:|esm\.sh|unpkg\.com|jsdelivr/);
      const zipped = await rawGet(`${origin}${a}`, { 'accept-encoding': 'gzip, deflate, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    }
    const missing = await get(`${origin}/playground/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect((await get(`${origin}/playground`, {}, 'POST')).status).toBe(405);
    const root = JSON.parse((await get(`${origin}/`)).body.toString('utf8'));
    expect(root.playground).toBe('/playground');
  });

  it('GET /graphql: the page for a browser navigation, the unchanged CSRF refusal for anything else', async () => {
    const browser = await get(gw.url, { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' });
    expect(browser.status).toBe(200);
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(browser.headers.get('vary')).toMatch(/Accept/);
    expect(browser.headers.get('content-security-policy')).toBe(PLAYGROUND_CSP);

    for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }, { accept: 'text/htmlx' }] as Record<string, string>[]) {
      const r = await get(`${gw.url}?query=${encodeURIComponent('{ viewer { orgId } }')}`, headers);
      expect([headers, r.status]).toEqual([headers, 400]);
      expect(r.body.toString('utf8')).toMatch(/Cross-Site Request Forgery/);
    }
    // A preflighted GET is a GraphQL request as before (here: no key).
    const api = await get(`${gw.url}?query=${encodeURIComponent('{ viewer { orgId } }')}`, { 'apollo-require-preflight': 'true', accept: 'application/json' });
    expect(api.status).toBe(401);
    // POST is never the page, whatever it accepts.
    const post = await fetch(gw.url, { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/json' }, body: '{"query":"{ viewer { orgId } }"}' });
    expect(post.status).toBe(401);
  });

  it('PLAYGROUND_ENABLED=false: no page, and GET /graphql from a browser is refused as before', async () => {
    const o = new URL(off.url).origin;
    expect(off.playgroundUrl).toBeUndefined();
    expect((await get(`${o}/playground`)).status).toBe(404);
    const r = await get(off.url, { accept: 'text/html' });
    expect(r.status).toBe(400);
    expect(r.body.toString('utf8')).toMatch(/Cross-Site Request Forgery/);
  });
});

describe('playground handler without a build', () => {
  it('answers 503 with the command that builds it, and finds the build once it exists', async () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-pg-dist-'));
    const handler = createPlaygroundHandler({ enabled: true, distDir: dist });
    const server = http.createServer((req, res) => handler.serve(req, res, new URL(req.url ?? '/', 'http://x')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await get(`${base}/playground`);
      expect(r.status).toBe(503);
      expect(r.body.toString('utf8')).toContain('npm run build:playground');
      fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>x</title>');
      fs.mkdirSync(path.join(dist, 'assets'));
      const ok = await get(`${base}/playground`);
      expect(ok.status).toBe(200);
      expect(ok.body.toString('utf8')).toContain('<title>x</title>');
    } finally {
      server.close();
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });
});

