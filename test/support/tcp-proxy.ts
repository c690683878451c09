import net from 'node:net';

/** Sees every chunk the proxy forwards: which connection, which way. */
export type ProxyTap = (connection: number, from: 'client' | 'server', chunk: Buffer) => void;

/**
 * A loopback TCP forwarder that a test can cut and restore on the same port: a database or
 * Redis "going down" and "coming back" without touching the real server. An optional tap sees
 * the traffic (e.g. to count round trips).
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private connections = 0;
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1', private readonly tap?: ProxyTap) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      const id = ++this.connections;
      if (this.tap) {
        const tap = this.tap;
        client.on('data', (c: Buffer) => tap(id, 'client', c));
        upstream.on('data', (c: Buffer) => tap(id, 'server', c));
      }
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port on loopback where nothing listens (bound, read, released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
