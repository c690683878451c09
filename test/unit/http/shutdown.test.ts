import http from 'node:http';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { HttpDrain } from '../../../src/http/drain';
import { createShutdown } from '../../../src/http/shutdown';

describe('shutdown', () => {
  it('drains HTTP first, then runs the later steps in order', async () => {
    const order: string[] = [];
    const drain = { drain: jest.fn(async () => (order.push('drain'), { cut: 0 })) };
    const shutdown = createShutdown({
      drain,
      drainDelayMs: 7,
      logger: pino({ level: 'silent' }),
      afterDrain: [async () => void order.push('ingest'), () => undefined, async () => void order.push('apollo')],
    });
    await shutdown(1234);
    expect(drain.drain).toHaveBeenCalledWith({ delayMs: 7, deadlineMs: 1234 });
    expect(order).toEqual(['drain', 'ingest', 'apollo']);
  });

  it('warns when requests were cut at the deadline', async () => {
    const warn = jest.fn();
    const logger = { warn } as unknown as pino.Logger;
    await createShutdown({ drain: { drain: async () => ({ cut: 2 }) }, drainDelayMs: 0, logger, afterDrain: [] })(500);
    expect(warn).toHaveBeenCalledWith({ cut: 2, deadlineMs: 500 }, expect.stringMatching(/deadline reached/));
  });

  it('with a real listener: a slow request in flight is answered (Connection: close), new connections are refused', async () => {
    const server = http.createServer();
    const drain = new HttpDrain(server);
    server.on('request', (_req, res) => {
      const done = drain.track(res);
      setTimeout(() => (res.end('slow'), done()), 150);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const inFlight = fetch(base);
    await new Promise((r) => setTimeout(r, 30));
    const stopped = createShutdown({ drain, drainDelayMs: 0, logger: pino({ level: 'silent' }), afterDrain: [] })(5000);
    await new Promise((r) => setTimeout(r, 30));
    expect(drain.draining).toBe(true);
    await expect(fetch(base)).rejects.toThrow();
    const res = await inFlight;
    expect([res.status, res.headers.get('connection'), await res.text()]).toEqual([200, 'close', 'slow']);
    await stopped;
    expect(drain.inFlight).toBe(0);
  });
});
