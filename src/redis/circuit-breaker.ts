/**
 * A circuit breaker for a dependency that can hang rather than fail: a stopped Redis keeps its
 * connections open and never answers, so every command costs its caller the full timeout.
 *
 * closed → open after `threshold` consecutive timeouts (a success in between starts the count
 * again; fast errors such as "not connected" neither count nor reset, the connection state
 * already covers them). While open, callers skip the dependency at once and use their
 * fallbacks; a probe runs every `probeIntervalMs`, and the first one that answers closes the
 * circuit. There is no half-open trial with live traffic: a request that hits a still-hung
 * Redis would wait the full timeout, which is exactly what the breaker is there to prevent.
 */
export type CircuitStateName = 'closed' | 'open';

export interface CircuitState {
  readonly state: CircuitStateName;
  readonly consecutiveTimeouts: number;
  /** ISO time the circuit last opened (absent while it never did). */
  readonly openedAt?: string;
  /** Why the last probe failed, while open. */
  readonly lastProbeError?: string;
  /** Times the circuit opened since start. */
  readonly opened: number;
}

export interface CircuitBreakerOptions {
  readonly threshold: number;
  readonly probeIntervalMs: number;
  /** Resolves when the dependency answered; rejects (or times out on its own) otherwise. */
  readonly probe: () => Promise<unknown>;
  readonly onChange?: (state: CircuitState) => void;
  readonly now?: () => number;
}

export class CircuitBreaker {
  private name: CircuitStateName = 'closed';
  private timeouts = 0;
  private openedAt?: number;
  private lastProbeError?: string;
  private opened = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;

  constructor(private readonly opts: CircuitBreakerOptions) {}

  isOpen(): boolean {
    return this.name === 'open';
  }

  state(): CircuitState {
    return {
      state: this.name,
      consecutiveTimeouts: this.timeouts,
      ...(this.openedAt !== undefined ? { openedAt: new Date(this.openedAt).toISOString() } : {}),
      ...(this.name === 'open' && this.lastProbeError ? { lastProbeError: this.lastProbeError } : {}),
      opened: this.opened,
    };
  }

  /** A command answered in time. */
  recordSuccess(): void {
    if (this.name === 'closed') this.timeouts = 0;
  }

  /** A command got no answer within its timeout. */
  recordTimeout(): void {
    if (this.name === 'open' || this.stopped) return;
    this.timeouts++;
    if (this.timeouts >= this.opts.threshold) this.open();
  }

  private open(): void {
    this.name = 'open';
    this.openedAt = (this.opts.now ?? Date.now)();
    this.lastProbeError = undefined;
    this.opened++;
    this.opts.onChange?.(this.state());
    this.schedule();
  }

  private close(): void {
    this.name = 'closed';
    this.timeouts = 0;
    this.lastProbeError = undefined;
    this.opts.onChange?.(this.state());
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runProbe();
    }, this.opts.probeIntervalMs);
    this.timer.unref();
  }

  private async runProbe(): Promise<void> {
    if (this.probing || this.stopped || this.name !== 'open') return;
    this.probing = true;
    try {
      await this.opts.probe();
      if (!this.stopped) this.close();
    } catch (err) {
      this.lastProbeError = (err as Error)?.message ?? String(err);
      this.schedule();
    } finally {
      this.probing = false;
    }
  }

  /** No more probes (shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
