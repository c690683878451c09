import http from 'node:http';
import { gql } from '../support/gateway';
import { startOpsGateway } from '../support/ops-gateway';

/** A POST whose body is sent in two parts: the request is in flight between them. */
function slowPost(url: string, key: string, query: string) {
  const body = JSON.stringify({ query });
  const half = Math.floor(body.length / 2);
  const u = new URL(url);
  let resolveResponse!: (v: { status: number; text: string }) => void;
  let rejectResponse!: (e: Error) => void;
  const response = new Promise<{ status: number; text: string }>((res, rej) => ((resolveResponse = res), (rejectResponse = rej)));
  const req = http.request(
    { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${key}` } },
    (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, text }));
    },
  );
  req.on('error', rejectResponse);
  req.write(body.slice(0, half));
  return { finish: () => req.end(body.slice(half)), response };
}

describe('graceful shutdown', () => {
  it('turns readiness to 503 first, keeps serving through the drain delay, and lets in-flight requests finish', async () => {
    const ops = await startOpsGateway({ SHUTDOWN_DRAIN_DELAY_MS: '600', SHUTDOWN_TIMEOUT_MS: '5000' });
    let stopped = false;
    const inFlight = slowPost(ops.gw.url, ops.key, '{ traces(first: 2) { nodes { id } } }');
    await new Promise((r) => setTimeout(r, 100));
    const stopping = ops.gw.stop().then(() => (stopped = true));
    try {
      const ready = await fetch(`${ops.base}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unhealthy', reason: 'shutting down' });
      // Still answering while load balancers take the instance out.
      expect((await gql(ops.gw.url, ops.key, '{ viewer { orgId } }')).status).toBe(200);

      await new Promise((r) => setTimeout(r, 800)); // past the drain delay: the listener is closed
      expect(stopped).toBe(false); // the in-flight request holds the shutdown
      await expect(fetch(`${ops.base}/health/live`)).rejects.toThrow();
      inFlight.finish();
      const r = await inFlight.response;
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).data.traces.nodes).toHaveLength(2);
      await stopping;
      expect(ops.gw.services.database.pool.totalCount).toBe(0);
    } finally {
      await stopping;
      await ops.tdb.drop();
    }
  });

  it('does not wait past SHUTDOWN_TIMEOUT_MS for a request that never completes', async () => {
    const ops = await startOpsGateway({ SHUTDOWN_TIMEOUT_MS: '500' }, { traces: 0 });
    const stuck = slowPost(ops.gw.url, ops.key, '{ viewer { orgId } }');
    stuck.response.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    try {
      await ops.gw.stop();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(450);
      expect(took).toBeLessThan(3000);
      await expect(stuck.response).rejects.toThrow();
    } finally {
      await ops.tdb.drop();
    }
  });
});
