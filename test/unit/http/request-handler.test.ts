import pino from 'pino';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestHandler, requestIdOf } from '../../../src/http/request-handler';
import { HttpDrain } from '../../../src/http/drain';
import type { FinishedRequest } from '../../../src/http/access-log';
import type { RouteHandler } from '../../../src/http/respond';

async function withHandler(route: RouteHandler, fn: (base: string, finished: FinishedRequest[], drain: HttpDrain) => Promise<void>) {
  const server = http.createServer();
  const drain = new HttpDrain(server);
  const finished: FinishedRequest[] = [];
  server.on('request', createRequestHandler({ route, drain, record: (f) => finished.push(f), logger: pino({ level: 'silent' }), accessLog: true }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, finished, drain);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('request handler', () => {
  it('gives the route the caller\'s request id (at most 64 characters) or a fresh one', async () => {
    const ids: string[] = [];
    await withHandler((_req, res, _url, id) => (ids.push(id), res.end()), async (base) => {
      await fetch(base, { headers: { 'x-request-id': 'r'.repeat(80) } });
      await fetch(base);
    });
    expect(ids[0]).toBe('r'.repeat(64));
    expect(ids[1]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('records every finished request with its bounded endpoint and the caller\'s trace id', async () => {
    await withHandler((_req, res) => res.end('x'), async (base, finished) => {
      await (await fetch(`${base}/graphql`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })).text();
      await (await fetch(`${base}/some/unknown/path`)).text();
      await settle();
      expect(finished.map((f) => [f.endpoint, f.traceId])).toEqual([
        ['/graphql', '0af7651916cd43dd8448eb211c80319c'],
        ['other', undefined],
      ]);
    });
  });

  it('answers a thrown or rejected route with a coded 500 and the request is no longer in flight', async () => {
    for (const route of [() => { throw new Error('sync'); }, () => Promise.reject(new Error('async'))] as RouteHandler[]) {
      await withHandler(route, async (base, _finished, drain) => {
        const res = await fetch(base);
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
        await settle();
        expect(drain.inFlight).toBe(0);
      });
    }
  });

  it('requestIdOf ignores an empty header', () => {
    expect(requestIdOf({ headers: { 'x-request-id': '' } } as never)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
