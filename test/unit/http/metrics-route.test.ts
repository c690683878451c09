import { bearerIs, metricsRoute } from '../../../src/http/metrics-route';
import type { RouteHandler } from '../../../src/http/respond';
import { serve } from './serve';

async function scrape(handler: RouteHandler, authorization?: string) {
  const s = await serve((req, res) => void handler(req, res, new URL('http://localhost/metrics'), 'r'));
  try {
    const res = await fetch(`${s.base}/metrics`, { headers: authorization ? { authorization } : {} });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } finally {
    await s.close();
  }
}

describe('metrics route', () => {
  it('open: the Prometheus text with its content type and length', async () => {
    const r = await scrape(metricsRoute({ mode: 'open' }));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(r.text));
  });

  it('token: 401 UNAUTHENTICATED with WWW-Authenticate without the right Bearer token, 200 with it', async () => {
    const route = metricsRoute({ mode: 'token', token: 's3cret-token' });
    for (const auth of [undefined, 'Bearer wrong', 'Basic s3cret-token', 'Bearer s3cret-token-and-more']) {
      const r = await scrape(route, auth);
      expect([auth, r.status, r.headers.get('www-authenticate'), JSON.parse(r.text).errors[0].extensions.code]).toEqual([auth, 401, 'Bearer', 'UNAUTHENTICATED']);
    }
    expect((await scrape(route, 'bearer  s3cret-token ')).status).toBe(200);
  });

  it('bearerIs compares the whole credential', () => {
    expect(bearerIs('Bearer abc', 'abc')).toBe(true);
    expect(bearerIs('Bearer ab', 'abc')).toBe(false);
    expect(bearerIs(undefined, 'abc')).toBe(false);
    expect(bearerIs('abc', 'abc')).toBe(false);
  });
});
