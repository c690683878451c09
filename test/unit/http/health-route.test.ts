import { livenessRoute, readinessRoute } from '../../../src/http/health-route';
import type { ReadinessProbe } from '../../../src/health';
import type { RouteHandler } from '../../../src/http/respond';
import { serve } from './serve';

async function get(handler: RouteHandler): Promise<{ status: number; body: any }> {
  const s = await serve((req, res) => void handler(req, res, new URL('http://localhost/'), 'r'));
  try {
    const res = await fetch(s.base);
    return { status: res.status, body: await res.json() };
  } finally {
    await s.close();
  }
}

const probe = (name: string, required: boolean, up: boolean): ReadinessProbe => ({
  name,
  required,
  check: () => (up ? Promise.resolve() : Promise.reject(new Error(`${name} down`))),
});

describe('health routes', () => {
  it('liveness answers 200 ok', async () => {
    expect(await get(livenessRoute())).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('readiness: healthy with every probe up, the limits mode beside the checks', async () => {
    const r = await get(readinessRoute({ probes: [probe('database', true, true)], timeoutMs: 500, draining: () => false, limitsMode: () => 'memory' }));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'healthy', limits: 'memory', checks: { database: { status: 'up' } } });
  });

  it('readiness: degraded (200) when an optional probe is down, unhealthy (503) when a required one is', async () => {
    const degraded = await get(readinessRoute({ probes: [probe('database', true, true), probe('redis', false, false)], timeoutMs: 500, draining: () => false, limitsMode: () => 'memory' }));
    expect([degraded.status, degraded.body.status]).toEqual([200, 'degraded']);
    const down = await get(readinessRoute({ probes: [probe('database', true, false)], timeoutMs: 500, draining: () => false, limitsMode: () => 'redis' }));
    expect([down.status, down.body.status, down.body.checks.database.error]).toEqual([503, 'unhealthy', 'database down']);
  });

  it('readiness: 503 "shutting down" while draining, without asking the probes', async () => {
    const check = jest.fn(() => Promise.resolve());
    const r = await get(readinessRoute({ probes: [{ name: 'database', required: true, check }], timeoutMs: 500, draining: () => true, limitsMode: () => 'memory' }));
    expect(r).toEqual({ status: 503, body: { status: 'unhealthy', reason: 'shutting down', checks: {} } });
    expect(check).not.toHaveBeenCalled();
  });
});
