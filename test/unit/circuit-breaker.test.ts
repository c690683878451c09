import { CircuitBreaker, type CircuitState } from '../../src/redis/circuit-breaker';

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('CircuitBreaker', () => {
  it('opens after `threshold` consecutive timeouts, not on interleaved successes', () => {
    const b = new CircuitBreaker({ threshold: 3, probeIntervalMs: 10_000, probe: async () => undefined });
    b.recordTimeout();
    b.recordTimeout();
    b.recordSuccess();
    b.recordTimeout();
    b.recordTimeout();
    expect(b.isOpen()).toBe(false);
    b.recordTimeout();
    expect(b.isOpen()).toBe(true);
    expect(b.state()).toMatchObject({ state: 'open', opened: 1 });
    b.stop();
  });

  it('probes while open and closes on the first probe that answers', async () => {
    let healthy = false;
    let probes = 0;
    const changes: CircuitState[] = [];
    const b = new CircuitBreaker({
      threshold: 1,
      probeIntervalMs: 20,
      probe: async () => {
        probes++;
        if (!healthy) throw new Error('still hung');
      },
      onChange: (s) => changes.push(s),
    });
    b.recordTimeout();
    expect(b.isOpen()).toBe(true);
    await until(() => probes >= 3);
    expect(b.isOpen()).toBe(true);
    expect(b.state().lastProbeError).toBe('still hung');
    healthy = true;
    await until(() => !b.isOpen());
    expect(changes.map((c) => c.state)).toEqual(['open', 'closed']);
    expect(b.state()).toMatchObject({ state: 'closed', consecutiveTimeouts: 0, opened: 1 });
    const after = probes;
    await new Promise((r) => setTimeout(r, 80));
    expect(probes).toBe(after); // no probing while closed
    b.stop();
  });

  it('stops probing once stopped', async () => {
    let probes = 0;
    const b = new CircuitBreaker({ threshold: 1, probeIntervalMs: 10, probe: async () => void probes++ });
    b.recordTimeout();
    b.stop();
    await new Promise((r) => setTimeout(r, 60));
    expect(probes).toBe(0);
  });
});
