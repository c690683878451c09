import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/app';

/** A real gateway on an ephemeral port (embedded in-memory unless DATABASE_URL is given). */
export async function startTestGateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    DEMO_TRACES: '3000',
    DEMO_DAYS: '7',
    // The live demo would add rows while tests count them; its own test turns it on.
    DEMO_LIVE: 'false',
    ...env,
  });
  return startGateway(config, pino({ level: 'silent' }), { inMemory: !config.database.url });
}

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; extensions?: Record<string, any> }[]; extensions?: Record<string, any> };
}

export async function gql<T = any>(url: string, key: string | null, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GqlResponse<T>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body };
}
