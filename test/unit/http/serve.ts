import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A real server on 127.0.0.1 (port 0) for one test; `close` ends it and its connections. */
export async function serve(handler: http.RequestListener, opts: http.ServerOptions = {}): Promise<{ server: http.Server; base: string; port: number; close: () => Promise<void> }> {
  const server = http.createServer(opts, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Sends raw bytes and collects whatever comes back until the server closes the socket. */
export function rawExchange(port: number, chunks: Array<string | Buffer>, gapMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', (err) => (answer ? resolve(answer) : reject(err)));
    socket.once('connect', async () => {
      for (const c of chunks) {
        if (socket.destroyed) break;
        socket.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}
