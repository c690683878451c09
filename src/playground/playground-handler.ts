import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';

/**
 * Serves the bundled GraphiQL (built by `npm run build:playground` into playground/dist) at
 * /playground, and at GET /graphql when a browser asks for HTML. Everything the page needs is
 * in that folder: nothing is fetched from another host, and the Content-Security-Policy says so
 * to the browser, which then refuses anything else (a CDN script, an inline script, a beacon).
 */

/** Where `npm run build:playground` writes (and `npm run build` copies to dist/playground/dist). */
export const PLAYGROUND_DIST = path.resolve(__dirname, '..', '..', 'playground', 'dist');

/**
 * - script-src 'self': the bundle only; no inline scripts, no eval (Monaco and GraphiQL need neither).
 * - worker-src 'self': Monaco's editor, JSON and GraphQL language workers are files of the bundle.
 * - style-src 'unsafe-inline': Monaco writes <style> elements at run time (themes, decorations)
 *   and has no nonce support; styles cannot run code, and every other source stays closed.
 * - font-src data:: GraphiQL's CSS embeds its fonts (Roboto, Fira Code, codicons) as data URLs.
 * - connect-src 'self': the page talks to this gateway only.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PLAYGROUND_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
};

interface Asset {
  readonly body: Buffer;
  readonly gzip?: Buffer;
  readonly type: string;
}

export interface PlaygroundHandler {
  /** True for /playground, its assets, and GET/HEAD /graphql from a browser asking for HTML. */
  handles(req: http.IncomingMessage, url: URL): boolean;
  serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void;
}

/** A browser navigation says so in Accept; API clients (curl, Apollo Client, fetch) do not. */
export function acceptsHtml(req: http.IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/** The built page and its assets, by URL path; files of unknown type are left out. */
function readAssets(distDir: string): Map<string, Asset> {
  const found = new Map<string, Asset>();
  const add = (urlPath: string, file: string) => {
    const type = CONTENT_TYPES[path.extname(file)];
    if (!type) return;
    const gz = `${file}.gz`;
    found.set(urlPath, { body: fs.readFileSync(file), gzip: fs.existsSync(gz) ? fs.readFileSync(gz) : undefined, type });
  };
  const index = path.join(distDir, 'index.html');
  if (fs.existsSync(index)) add('/playground', index);
  const assetDir = path.join(distDir, 'assets');
  if (fs.existsSync(assetDir)) {
    for (const name of fs.readdirSync(assetDir)) add(`/playground/assets/${name}`, path.join(assetDir, name));
  }
  return found;
}

function sendAsset(req: http.IncomingMessage, res: http.ServerResponse, status: number, asset: Asset, cacheControl: string, extra: Record<string, string> = {}) {
  const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip! : asset.body;
  res.setHeader('content-length', body.length);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': asset.type,
    'cache-control': cacheControl,
    vary: 'Accept-Encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendText(res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}) {
  res.setHeader('content-length', Buffer.byteLength(text));
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(text);
}

export function createPlaygroundHandler(opts: { enabled: boolean; distDir?: string }): PlaygroundHandler {
  const distDir = opts.distDir ?? PLAYGROUND_DIST;
  let assets: Map<string, Asset> | null = null;

  /** Read once, on first use: a few MB, hashed names, never changing while the process runs. */
  function load(): Map<string, Asset> {
    if (assets) return assets;
    const found = readAssets(distDir);
    // Only a complete build is cached: a missing one is looked for again on the next request.
    if (found.has('/playground')) assets = found;
    return found;
  }

  return {
    handles(req, url) {
      if (!opts.enabled) return false;
      const p = url.pathname;
      if (p === '/playground' || p === '/playground/' || p.startsWith('/playground/')) return true;
      const method = req.method ?? 'GET';
      return p === '/graphql' && (method === 'GET' || method === 'HEAD') && acceptsHtml(req);
    },

    serve(req, res, url) {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        return sendText(res, 405, 'The playground answers GET only\n', { allow: 'GET, HEAD' });
      }
      const found = load();
      const p = url.pathname === '/playground/' || url.pathname === '/graphql' ? '/playground' : url.pathname;
      const asset = found.get(p);
      if (asset) {
        // The page itself is revalidated (it names the current bundle); bundles have hashed names.
        const page = p === '/playground';
        return sendAsset(req, res, 200, asset, page ? 'no-cache' : 'public, max-age=31536000, immutable', page ? { vary: 'Accept, Accept-Encoding' } : {});
      }
      if (!found.has('/playground')) {
        return sendText(res, 503, 'The playground has not been built: run `npm run build:playground` (npm start, npm test and npm run build do it by themselves).\n');
      }
      return sendText(res, 404, `No playground file ${p}\n`);
    },
  };
}
