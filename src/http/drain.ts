import type http from 'node:http';
import net from 'node:net';

/**
 * Graceful shutdown of the HTTP listener under keep-alive load.
 *
 * Closing the listener is not enough: keep-alive clients keep sending on their open sockets, so
 * the in-flight count never settles, and whatever is in flight at the deadline is reset. Here:
 *
 * 1. Readiness fails at once; for `delayMs` (SHUTDOWN_DRAIN_DELAY_MS, while a load balancer
 *    removes the endpoint) everything else goes on as before.
 * 2. Then the listener stops accepting (a new connection is refused: nothing was sent on it, a
 *    client or balancer retries elsewhere), and from then on every answer — including those of
 *    requests in flight whose headers are not out yet — carries `Connection: close`; Node closes
 *    each socket right after such an answer. The order matters: answering `Connection: close`
 *    while still listening makes clients reconnect to this very instance, and connections that
 *    arrive while the listener closes are reset by the kernel from its accept queue.
 * 3. A socket with no request is closed once it has been idle for IDLE_GRACE_MS. One that is
 *    idle *right now* may have a request on the wire, and destroying it would reset that request
 *    (Node's own server.close() destroys every idle socket at once: exactly that race).
 * 4. Settles as soon as every request has been answered (its handler finished, not just its
 *    socket closed: a request whose client went away may still be using the database) and every
 *    socket is gone; at `deadlineMs` after the listener closed, the rest is cut.
 */
export const IDLE_GRACE_MS = 250;
const SWEEP_MS = 100;

interface SocketState {
  active: number;
  /** When it last had something to do: accepted, or a response finished. */
  lastActive: number;
}

export class HttpDrain {
  private active = 0;
  private readonly pending = new Set<http.ServerResponse>();
  private readonly sockets = new Map<net.Socket, SocketState>();
  private idleWaiters: Array<() => void> = [];
  private drainingSince: number | null = null;
  private closing = false;

  constructor(private readonly server: http.Server) {
    server.on('connection', (socket: net.Socket) => {
      this.sockets.set(socket, { active: 0, lastActive: Date.now() });
      socket.once('close', () => {
        this.sockets.delete(socket);
        if (this.sockets.size === 0) this.wakeIdle();
      });
    });
  }

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  /** Requests whose handler or response is not finished. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Call when a request arrives; call the returned function when its handler has settled. The
   * request counts as in flight until both that and the response's 'close' have happened.
   */
  track(res: http.ServerResponse): () => void {
    this.active++;
    const socket = this.sockets.get(res.req.socket);
    if (socket) socket.active++;
    let handlerDone = false;
    let closed = false;
    if (this.closing) res.setHeader('connection', 'close');
    else this.pending.add(res);
    const settle = () => {
      if (!handlerDone || !closed) return;
      this.active--;
      if (this.active === 0) this.wakeIdle();
    };
    res.once('close', () => {
      this.pending.delete(res);
      if (socket) {
        socket.active--;
        socket.lastActive = Date.now();
      }
      closed = true;
      settle();
    });
    return () => {
      if (handlerDone) return;
      handlerDone = true;
      settle();
    };
  }

  /** Fails readiness, waits `delayMs`, closes the listener and keep-alive; resolves when everything is answered (or cut at the deadline). */
  async drain(opts: { delayMs: number; deadlineMs: number }): Promise<{ cut: number }> {
    this.drainingSince ??= Date.now();
    if (opts.delayMs > 0) await sleep(opts.delayMs);
    // net.Server's close: stop accepting, without http.Server's immediate destruction of idle sockets.
    net.Server.prototype.close.call(this.server);
    this.closing = true;
    for (const res of this.pending) if (!res.headersSent) res.setHeader('connection', 'close');
    this.pending.clear();
    const sweep = setInterval(() => this.closeIdleSockets(), SWEEP_MS);
    let deadlineTimer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      deadlineTimer = setTimeout(() => resolve('deadline'), opts.deadlineMs);
    });
    try {
      this.closeIdleSockets();
      const outcome = await Promise.race([this.whenIdle().then(() => 'done' as const), deadline]);
      if (outcome === 'done') return { cut: 0 };
      const cut = this.active;
      for (const socket of this.sockets.keys()) socket.destroy();
      return { cut };
    } finally {
      clearInterval(sweep);
      clearTimeout(deadlineTimer);
    }
  }

  private closeIdleSockets(): void {
    const now = Date.now();
    for (const [socket, s] of this.sockets) {
      if (s.active === 0 && now - s.lastActive >= IDLE_GRACE_MS) socket.destroy();
    }
  }

  /** No request in flight and no socket open. */
  private whenIdle(): Promise<void> {
    const check = (resolve: () => void) => {
      if (this.active === 0 && this.sockets.size === 0) resolve();
      else this.idleWaiters.push(() => check(resolve));
    };
    return new Promise(check);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
