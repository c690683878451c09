import http from 'node:http';
import { BodyTooLarge, readBody } from '../../../src/http/body';
import { rawExchange, serve } from './serve';

/** Answers 200 with the body it read, or 413 when readBody refuses it. */
const echo = (maxBytes: number, discardMs?: number): http.RequestListener => (req, res) => {
  readBody(req, maxBytes, discardMs).then(
    (text) => res.end(`ok:${text}`),
    (err) => {
      res.writeHead(err instanceof BodyTooLarge ? 413 : 500, { connection: 'close' });
      res.end('too large');
    },
  );
};

describe('readBody', () => {
  it('returns the body as UTF-8 text', async () => {
    const s = await serve(echo(100));
    try {
      const res = await fetch(s.base, { method: 'POST', body: 'héllo' });
      expect(await res.text()).toBe('ok:héllo');
    } finally {
      await s.close();
    }
  });

  it('refuses a declared Content-Length over the limit at once, before reading the body', async () => {
    const s = await serve(echo(10));
    try {
      const answer = await rawExchange(s.port, ['POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 11\r\n\r\n', '12345678901']);
      expect(answer).toMatch(/^HTTP\/1.1 413/);
    } finally {
      await s.close();
    }
  });

  it('counts a chunked body and answers 413 (not a reset) while the client is still sending', async () => {
    const s = await serve(echo(1000));
    try {
      const chunk = `${(600).toString(16)}\r\n${'x'.repeat(600)}\r\n`;
      const answer = await rawExchange(s.port, ['POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n', chunk, chunk, chunk, '0\r\n\r\n'], 20);
      expect(answer).toMatch(/^HTTP\/1.1 413/);
      expect(answer).toContain('too large');
    } finally {
      await s.close();
    }
  });

  it('accepts a body of exactly the limit', async () => {
    const s = await serve(echo(5));
    try {
      const res = await fetch(s.base, { method: 'POST', body: '12345' });
      expect([res.status, await res.text()]).toEqual([200, 'ok:12345']);
    } finally {
      await s.close();
    }
  });

  it('cuts the socket when the rest of a refused body keeps arriving past the discard window', async () => {
    let socketClosed!: () => void;
    const closed = new Promise<void>((r) => (socketClosed = r));
    const s = await serve((req) => {
      req.socket.once('close', () => socketClosed());
      readBody(req, 10, 50).catch(() => undefined);
    });
    try {
      // Declared large, never completed, never answered: after 50 ms of discarding the request is destroyed.
      const started = Date.now();
      await rawExchange(s.port, ['POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n', 'abc']);
      await closed;
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    } finally {
      await s.close();
    }
  });
});
