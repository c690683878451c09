import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { findViewerByKeyHash, hashApiKey, touchApiKey } from './api-keys';
import type { Viewer } from './viewer';

/**
 * Resolves bearer credentials to a Viewer. Lookups are memoised for a short time so that the
 * hot path does not hit the database on every request; a revoked key stops working within
 * `ttlMs`. last_used_at is written at most once per key per minute, off the request path.
 */
export class Authenticator {
  private readonly cache = new Map<string, { viewer: Viewer | null; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly readDb: Kysely<Database>,
    private readonly writeDb: Kysely<Database>,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  async authenticate(headers: { authorization?: string; apiKey?: string }): Promise<Viewer | null> {
    const token = extractToken(headers);
    if (!token) return null;
    const hash = hashApiKey(token);
    const now = Date.now();
    const hit = this.cache.get(hash);
    let viewer: Viewer | null;
    if (hit && hit.until > now) {
      viewer = hit.viewer;
    } else {
      viewer = await findViewerByKeyHash(this.readDb, hash);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(hash, { viewer, until: now + this.ttlMs });
    }
    if (viewer?.keyId) this.recordUse(viewer.keyId, now);
    return viewer;
  }

  /** Forget memoised lookups (after a key is revoked, in tests). */
  invalidate(): void {
    this.cache.clear();
  }

  private recordUse(keyId: string, now: number): void {
    const last = this.touched.get(keyId) ?? 0;
    if (now - last < 60_000) return;
    this.touched.set(keyId, now);
    touchApiKey(this.writeDb, keyId, new Date(now)).catch(() => undefined);
  }
}

function extractToken(headers: { authorization?: string; apiKey?: string }): string | null {
  const auth = headers.authorization?.trim();
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    return m ? (m[1] ?? null) : null;
  }
  return headers.apiKey?.trim() || null;
}
