import http from 'node:http';

/** What became of one request. */
export interface Outcome {
  /** The request's number (the argument `query` was called with). */
  readonly n: number;
  /** Which client (0 … concurrency-1) sent it. */
  readonly worker: number;
  /** Start, ms since the load began. */
  readonly startMs: number;
  readonly ms: number;
  /** HTTP status; absent when the request failed at the socket. */
  readonly status?: number;
  /** extensions.code of each error in the body. */
  readonly codes: readonly string[];
  /**
   * reset: the connection died with the request on it (ECONNRESET, socket hang up) — what a
   * drain must never do; refused: the listener was closed (the request never left the
   * client, a load balancer would send it elsewhere); timeout: no answer within `timeoutMs`.
   */
  readonly failure?: 'reset' | 'refused' | 'timeout' | 'other';
  readonly failureMessage?: string;
  /** The answer carried `Connection: close`. */
  readonly connectionClose: boolean;
  /** Sent on a kept-alive socket that had carried a request before. */
  readonly reusedSocket: boolean;
}

export interface LoadOptions {
  readonly url: string;
  readonly key: string;
  readonly concurrency: number;
  /** The document for the n-th request. */
  readonly query: (n: number) => string;
  readonly timeoutMs?: number;
  /** Pause this long after a refused connection (nothing listens). */
  readonly refusedBackoffMs?: number;
}

export interface RunningLoad {
  readonly outcomes: Outcome[];
  /** ms since the load began. */
  now(): number;
  stop(): Promise<Outcome[]>;
}

/**
 * Closed-loop keep-alive clients (one http.Agent, `concurrency` sockets), each sending its next
 * request as soon as the previous one is answered: the load that exposes a shutdown which does
 * not drain keep-alive connections.
 */
export function startKeepAliveLoad(opts: LoadOptions): RunningLoad {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const outcomes: Outcome[] = [];
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let stopped = false;
  let n = 0;
  const target = new URL(opts.url);

  const once = (worker: number, n: number, query: string) =>
    new Promise<Outcome>((resolve) => {
      const body = JSON.stringify({ query });
      const startMs = now();
      let settled = false;
      const done = (o: Omit<Outcome, 'startMs' | 'ms' | 'worker' | 'n'>) => {
        if (settled) return;
        settled = true;
        resolve({ n, worker, startMs, ms: now() - startMs, ...o });
      };
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${opts.key}` },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            let codes: string[] = [];
            try {
              codes = ((JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] }).errors ?? []).map((e) => e.extensions?.code ?? 'none');
            } catch {
              codes = ['non-json'];
            }
            done({ status: res.statusCode, codes, connectionClose: res.headers.connection === 'close', reusedSocket: req.reusedSocket });
          });
          res.on('error', (err) => done({ codes: [], failure: 'reset', failureMessage: err.message, connectionClose: false, reusedSocket: req.reusedSocket }));
        },
      );
      req.setTimeout(opts.timeoutMs ?? 15_000, () => {
        done({ codes: [], failure: 'timeout', connectionClose: false, reusedSocket: req.reusedSocket });
        req.destroy();
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const failure = err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' || /socket hang up/.test(err.message) ? 'reset' : 'other';
        done({ codes: [], failure, failureMessage: `${err.code ?? ''} ${err.message}`.trim(), connectionClose: false, reusedSocket: req.reusedSocket });
      });
      req.end(body);
    });

  const worker = async (_: unknown, index: number) => {
    while (!stopped) {
      const i = n++;
      const o = await once(index, i, opts.query(i));
      if (stopped && o.failure) break;
      outcomes.push(o);
      if (o.failure === 'refused') await new Promise((r) => setTimeout(r, opts.refusedBackoffMs ?? 50));
    }
  };
  const workers = Array.from({ length: opts.concurrency }, worker);
  return {
    outcomes,
    now,
    async stop() {
      stopped = true;
      await Promise.all(workers);
      agent.destroy();
      return outcomes;
    },
  };
}
