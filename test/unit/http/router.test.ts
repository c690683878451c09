import { createRouter, exactPath } from '../../../src/http/router';
import { serve } from './serve';

describe('createRouter', () => {
  it('asks routes in order and answers an unmatched path with a coded JSON 404', async () => {
    const seen: string[] = [];
    const route = createRouter([
      { matches: (_req, url) => url.pathname.startsWith('/files/'), handle: (_req, res) => (seen.push('prefix'), res.end('file')) },
      exactPath('/files/exact', (_req, res) => (seen.push('exact'), res.end('exact'))),
      exactPath('/a', (_req, res, url, requestId) => res.end(`a ${url.search} ${requestId}`)),
    ]);
    const s = await serve((req, res) => void route(req, res, new URL(req.url ?? '/', 'http://localhost'), 'rid-1'));
    try {
      expect(await (await fetch(`${s.base}/files/exact`)).text()).toBe('file');
      expect(seen).toEqual(['prefix']);
      expect(await (await fetch(`${s.base}/a?x=1`)).text()).toBe('a ?x=1 rid-1');
      const missing = await fetch(`${s.base}/nowhere`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await missing.json()).toEqual({ errors: [{ message: 'No route for /nowhere', extensions: { code: 'NOT_FOUND' } }] });
    } finally {
      await s.close();
    }
  });

  it('passes a route error to its caller (the request handler answers 500)', async () => {
    const route = createRouter([exactPath('/boom', () => Promise.reject(new Error('boom')))]);
    await expect(route({} as never, {} as never, new URL('http://localhost/boom'), 'r')).rejects.toThrow('boom');
  });
});
