import pg from 'pg';

/**
 * Is the database server alive, independently of how busy the request pool is?
 *
 * Readiness used to run `SELECT 1` through the request pool: when every connection was taken
 * by requests, the probe queued behind them, missed its timeout and the replica was reported
 * unready, so a load spike took busy replicas out of service all at once. This probe owns one
 * connection of its own (one more server connection per gateway instance), opened on demand and
 * replaced whenever it fails, so it answers "does the server answer" and nothing else. How busy
 * the request pool is, is reported beside it (poolSaturation), never as a failure.
 */
export class LivenessProbe {
  private readonly pool: pg.Pool;
  private running: Promise<void> | null = null;

  constructor(connectionString: string, private readonly timeoutMs: number) {
    this.pool = new pg.Pool({
      connectionString,
      max: 1,
      min: 0,
      connectionTimeoutMillis: timeoutMs,
      idleTimeoutMillis: 0,
      application_name: 'analytics-gateway-health',
    });
    // A dead idle connection is dropped by the pool; the next check opens a new one.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** Resolves when the server answered SELECT 1 within the timeout; concurrent callers share one check. */
  check(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query({ text: 'SELECT 1 /* livenessProbe */', query_timeout: this.timeoutMs } as pg.QueryConfig);
      client.release();
    } catch (err) {
      // A connection that timed out may still carry the unanswered query: never reuse it.
      client.release(err as Error);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export interface PoolSaturation {
  /** DB_POOL_MAX. */
  readonly max: number;
  /** Open connections (in use + idle). */
  readonly total: number;
  readonly idle: number;
  readonly inUse: number;
  /** Callers queued for a connection right now. */
  readonly waiting: number;
  /** Every connection is in use: new statements queue (busy, not dead). */
  readonly saturated: boolean;
}

export function poolSaturation(pool: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'> & { options: { max?: number } }): PoolSaturation {
  const max = pool.options.max ?? 10;
  const inUse = pool.totalCount - pool.idleCount;
  return { max, total: pool.totalCount, idle: pool.idleCount, inUse, waiting: pool.waitingCount, saturated: inUse >= max };
}
