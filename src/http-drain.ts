import type http from 'node:http';

/**
 * Graceful shutdown of the HTTP listener under keep-alive load.
 *
 * Closing the listener is not enough: keep-alive clients keep sending on their open sockets, so
 * the in-flight count never settles, and whatever is in flight at the deadline is reset. Here:
 *
 * 1. From the moment draining starts, every answer (including those of requests already in
 *    flight whose headers are not out yet) carries `Connection: close`; Node closes each socket
 *    right after such a response, so a client's next request opens a new connection, which a
 *    load balancer sends elsewhere.
 * 2. The listener keeps accepting for `delayMs` (SHUTDOWN_DRAIN_DELAY_MS, while endpoints are
 *    removed), at least IDLE_GRACE_MS. Then it closes, and so do the sockets idle since before
 *    draining began. Waiting that long first is what avoids resets: a keep-alive socket that is
 *    idle *right now* may have a request on the wire, and destroying it would reset that
 *    request; one idle for the whole grace is not about to send.
 * 3. Settles as soon as every request has been answered (its handler finished, not just its
 *    socket closed: a request whose client went away may still be using the database) and every
 *    socket is gone; at `deadlineMs` after the listener closed, the rest is cut.
 */
export const IDLE_GRACE_MS = 250;
const SWEEP_MS = 100;

export class HttpDrain {
  private active = 0;
  private readonly pending = new Set<http.ServerResponse>();
  private idleWaiters: Array<() => void> = [];
  private drainingSince: number | null = null;

  constructor(private readonly server: http.Server) {}

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
    let handlerDone = false;
    let closed = false;
    if (this.draining) res.setHeader('connection', 'close');
    else this.pending.add(res);
    const settle = () => {
      if (!handlerDone || !closed) return;
      this.active--;
      if (this.active === 0) this.wakeIdle();
    };
    res.once('close', () => {
      this.pending.delete(res);
      closed = true;
      settle();
    });
    return () => {
      if (handlerDone) return;
      handlerDone = true;
      settle();
    };
  }

  /** Stops keep-alive, then the listener; resolves when everything is answered (or cut at the deadline). */
  async drain(opts: { delayMs: number; deadlineMs: number }): Promise<{ cut: number }> {
    if (this.drainingSince === null) {
      this.drainingSince = Date.now();
      for (const res of this.pending) if (!res.headersSent) res.setHeader('connection', 'close');
      this.pending.clear();
    }
    await sleep(Math.max(opts.delayMs, IDLE_GRACE_MS));
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Sockets that finished a response begun before draining (headers already out) stay
    // keep-alive; sweep them as they turn idle.
    const sweep = setInterval(() => this.server.closeIdleConnections(), SWEEP_MS);
    let deadlineTimer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      deadlineTimer = setTimeout(() => resolve('deadline'), opts.deadlineMs);
    });
    try {
      const outcome = await Promise.race([listenerClosed.then(() => this.whenIdle()).then(() => 'done' as const), deadline]);
      if (outcome === 'done') return { cut: 0 };
      const cut = this.active;
      this.server.closeAllConnections();
      await listenerClosed;
      return { cut };
    } finally {
      clearInterval(sweep);
      clearTimeout(deadlineTimer);
    }
  }

  private whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
