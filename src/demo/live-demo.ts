import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MODELS } from '../../db/seed/catalog';

/**
 * The live demo: a few synthetic LLM calls per second, sent as an instrumented application would
 * (OTLP/JSON with GenAI semantic-convention attributes) through the gateway's own POST
 * /v1/traces with the demo INGEST key, so "last 15 minutes" panels keep filling after the first
 * start. DEMO_LIVE=false turns it off; DEMO_LIVE_PER_SECOND sets the rate.
 */

export interface LiveDemo {
  /** Calls sent and answered 200 so far. */
  readonly sent: () => number;
  readonly projectIds: readonly string[];
  readonly perSecond: number;
  stop(): Promise<void>;
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const nanos = (ms: number) => `${Math.round(ms * 1000)}000`;
const kv = (key: string, v: string | number) => ({ key, value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) } });

const PROMPTS = ['Summarise this support ticket', 'Translate the release notes to German', 'Classify the sentiment of this review', 'Draft a reply to the customer', 'Extract the invoice total'];
const ENVIRONMENTS = ['production', 'production', 'production', 'staging'];

export function liveDemoSpan(now: number) {
  const m = pick(MODELS);
  const input = 50 + Math.floor(Math.random() * 1500);
  const output = 10 + Math.floor(Math.random() * 400 * m.completionScale);
  const cached = m.cachedPer1k > 0 && Math.random() < 0.3 ? Math.floor(input * 0.5) : 0;
  const duration = Math.max(80, m.medianMs * Math.exp((Math.random() - 0.5) * m.sigma * 2));
  const start = now - duration;
  const failed = Math.random() < m.errorRate * 2;
  const user = `user_${Math.floor(Math.random() * 40)}`;
  return {
    environment: pick(ENVIRONMENTS),
    span: {
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      name: `chat ${m.model}`,
      kind: 3,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(now),
      attributes: [
        kv('gen_ai.provider.name', m.provider),
        kv('gen_ai.operation.name', 'chat'),
        kv('gen_ai.request.model', m.model),
        kv('gen_ai.usage.input_tokens', input),
        kv('gen_ai.usage.output_tokens', failed ? 0 : output),
        ...(cached ? [kv('gen_ai.usage.cache_read.input_tokens', cached)] : []),
        kv('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: pick(PROMPTS) }] }])),
        ...(failed ? [kv('error.type', pick(['rate_limit', 'timeout', 'server_error']))] : [kv('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Done.' }] }]))]),
        kv('user.id', user),
        kv('session.id', `${user}_s${Math.floor(now / 600_000) % 7}`),
      ],
      events: failed ? [] : [{ name: 'gen_ai.first_token', timeUnixNano: nanos(start + Math.min(duration * 0.3, 800)), attributes: [] }],
      status: { code: failed ? 2 : 1 },
    },
  };
}

export function startLiveDemo(opts: { endpoint: string; key: string; projectIds: readonly string[]; perSecond: number; logger: Logger }): LiveDemo {
  let sent = 0;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let failures = 0;
  const tick = () => {
    if (stopped) return;
    const now = Date.now();
    // One request per project and environment, as separate services would send them.
    const groups = new Map<string, unknown[]>();
    for (let i = 0; i < opts.perSecond; i++) {
      const { environment, span } = liveDemoSpan(now);
      const project = pick(opts.projectIds);
      const k = `${project}\u0000${environment}`;
      const list = groups.get(k) ?? [];
      list.push(span);
      groups.set(k, list);
    }
    const body = {
      resourceSpans: [...groups].map(([k, spans]) => {
        const [project, environment] = k.split('\u0000') as [string, string];
        return {
          resource: { attributes: [kv('service.name', 'demo-live'), kv('observatory.project.id', project), kv('deployment.environment.name', environment)] },
          scopeSpans: [{ scope: { name: 'observatory-live-demo' }, spans }],
        };
      }),
    };
    inFlight = fetch(opts.endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.key}` }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.ok) {
          sent += opts.perSecond;
          failures = 0;
        } else if (++failures === 3) opts.logger.warn({ status: res.status }, 'live demo: the gateway refuses the synthetic calls');
      })
      .catch((err) => {
        if (!stopped && ++failures === 3) opts.logger.warn({ err }, 'live demo: sending synthetic calls failed');
      });
  };
  const timer = setInterval(tick, 1000);
  timer.unref();
  return {
    sent: () => sent,
    projectIds: opts.projectIds,
    perSecond: opts.perSecond,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
