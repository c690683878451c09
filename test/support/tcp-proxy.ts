import net from 'node:net';

/** Sees every chunk the proxy forwards: which connection, which way. */
export type ProxyTap = (connection: number, from: 'client' | 'server', chunk: Buffer) => void;

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes held while paused, per direction, delivered on resume. */
  readonly held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

/**
 * A loopback TCP forwarder that a test can cut and restore on the same port: a database or
 * Redis "going down" and "coming back" without touching the real server.
 *
 * - stop(): refuse new connections and cut the open ones (a restart, a crash);
 *   stop({ reset: true }) cuts them with a TCP RST, so the peer reads ECONNRESET.
 * - dropConnections(): cut the open ones but keep accepting (backends terminated).
 * - pause() / resume(): keep every connection open but forward nothing (a hung server, like a
 *   SIGSTOPped process; the bytes are delivered on resume, as the kernel would).
 * - an optional tap sees the traffic (e.g. to count round trips).
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<Pair>();
  private paused = false;
  private opened = 0;
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1', private readonly tap?: ProxyTap) {}

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      const pair: Pair = { client, upstream, held: { toUpstream: [], toClient: [] } };
      this.pairs.add(pair);
      const id = ++this.opened;
      if (this.tap) {
        const tap = this.tap;
        client.on('data', (c: Buffer) => tap(id, 'client', c));
        upstream.on('data', (c: Buffer) => tap(id, 'server', c));
      }
      const forward = (to: net.Socket, queue: Buffer[]) => (chunk: Buffer) => {
        if (this.paused) queue.push(chunk);
        else to.write(chunk);
      };
      client.on('data', forward(upstream, pair.held.toUpstream));
      upstream.on('data', forward(client, pair.held.toClient));
      for (const s of [client, upstream]) s.on('error', () => undefined);
      client.on('close', () => {
        this.pairs.delete(pair);
        upstream.destroy();
      });
      upstream.on('close', () => {
        this.pairs.delete(pair);
        client.destroy();
      });
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
  async stop(opts: { reset?: boolean } = {}): Promise<void> {
    const server = this.server;
    this.server = null;
    this.dropConnections(opts);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Cuts every open connection (a FIN, or an RST with `reset`); new ones are still accepted. */
  dropConnections(opts: { reset?: boolean } = {}): void {
    for (const p of this.pairs) {
      if (opts.reset) {
        p.client.resetAndDestroy();
        p.upstream.resetAndDestroy();
      } else {
        p.client.destroy();
        p.upstream.destroy();
      }
    }
    this.pairs.clear();
  }

  /** Forwards nothing until resume(); connections stay open. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const p of this.pairs) {
      for (const chunk of p.held.toUpstream.splice(0)) p.upstream.write(chunk);
      for (const chunk of p.held.toClient.splice(0)) p.client.write(chunk);
    }
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
