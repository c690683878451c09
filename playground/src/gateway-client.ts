/** The page's only peer: this gateway's /graphql, same origin, the key as a Bearer token. */
export const GRAPHQL_PATH = '/graphql';
const STORAGE_KEY = 'observatory-playground:api-key';

export interface ViewerInfo {
  readonly orgId: string;
  readonly orgName: string;
  readonly role: string;
  readonly projectIds: readonly string[] | null;
  readonly keyName: string | null;
}

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly durationMs: number;
}

export async function postGraphQL(
  key: string,
  payload: { query: string; operationName?: string | null; variables?: unknown },
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<GatewayResponse> {
  const started = performance.now();
  const res = await fetch(GRAPHQL_PATH, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', ...headers, authorization: `Bearer ${key}` },
    body: JSON.stringify(payload),
    signal,
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: `The gateway answered ${res.status} with a non-JSON body`, extensions: { code: 'BAD_RESPONSE' } }] };
  }
  return { status: res.status, headers: res.headers, body, durationMs: performance.now() - started };
}

export type SignInResult = { readonly ok: true; readonly viewer: ViewerInfo } | { readonly ok: false; readonly message: string };

export async function signIn(key: string): Promise<SignInResult> {
  const trimmed = key.trim();
  if (!trimmed) return { ok: false, message: 'Paste an API key first (npm start prints demo keys; an ADMIN can create one).' };
  if (/\s/.test(trimmed)) return { ok: false, message: 'An API key has no spaces: paste the key alone, without "Bearer".' };
  let r: GatewayResponse;
  try {
    r = await postGraphQL(trimmed, { query: 'query PlaygroundSignIn { viewer { orgId orgName role projectIds keyName } }' });
  } catch (err) {
    return { ok: false, message: `The gateway could not be reached (${(err as Error).message}).` };
  }
  const code = r.body?.errors?.[0]?.extensions?.code;
  if (r.status === 401 || code === 'UNAUTHENTICATED') {
    return { ok: false, message: 'This key was refused (UNAUTHENTICATED): it is unknown, revoked or mistyped. Check it, or ask an ADMIN for a new one.' };
  }
  if (r.status === 429 || code === 'RATE_LIMITED') return { ok: false, message: 'This key is out of budget right now (RATE_LIMITED): try again in a few seconds.' };
  const viewer = r.body?.data?.viewer as ViewerInfo | undefined;
  if (!viewer) return { ok: false, message: `Signing in failed: ${r.body?.errors?.[0]?.message ?? `HTTP ${r.status}`}` };
  return { ok: true, viewer };
}

export const storedKey = (): string | null => {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
};

export const storeKey = (key: string | null): void => {
  try {
    if (key) window.localStorage.setItem(STORAGE_KEY, key);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled (private mode): the key lives for this page only.
  }
};
