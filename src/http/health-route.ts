import { checkReadiness, type ReadinessProbe } from '../health';
import { sendJson, type RouteHandler } from './respond';

/** `/health/live`: the process answers. */
export const livenessRoute = (): RouteHandler => (_req, res) => sendJson(res, 200, { status: 'ok' });

export interface ReadinessDeps {
  readonly probes: readonly ReadinessProbe[];
  readonly timeoutMs: number;
  /** True from the moment a drain starts (readiness fails at once, before the listener closes). */
  readonly draining: () => boolean;
  /** Reported beside the checks: where the rate limits are kept. */
  readonly limitsMode: () => string;
}

/** `/health/ready`: 503 while draining or when a required dependency is down. */
export function readinessRoute(deps: ReadinessDeps): RouteHandler {
  return async (_req, res) => {
    if (deps.draining()) return sendJson(res, 503, { status: 'unhealthy', reason: 'shutting down', checks: {} });
    const r = await checkReadiness([...deps.probes], deps.timeoutMs);
    return sendJson(res, r.status === 'unhealthy' ? 503 : 200, { ...r, limits: deps.limitsMode() });
  };
}
