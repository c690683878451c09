import type http from 'node:http';

export class BodyTooLarge extends Error {}

/** After a 413, what is still arriving is read and dropped for this long before the socket is cut. */
export const DISCARD_AFTER_413_MS = 5_000;

/**
 * The body as text, at most `maxBytes`. Over the limit (declared or, chunked, counted) it
 * rejects at once; the rest of the body is read and dropped so that the client, still
 * sending, gets the 413 instead of a reset connection.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number, discardMs = DISCARD_AFTER_413_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const discard = () => {
      req.removeAllListeners('data');
      req.resume();
      const timer = setTimeout(() => req.destroy(), discardMs);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
      reject(new BodyTooLarge());
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) return discard();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        chunks.length = 0;
        discard();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
