import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { findViewerByKeyHash, hashApiKey, touchApiKey } from './api-keys';
import { looksLikeJwt, type JwtIdentity } from './jwt';
import type { Viewer } from './viewer';

export interface AuthenticatorOptions {
  /** How long a lookup is memoised: a revoked key keeps working at most this long (AUTH_CACHE_TTL_MS). */
  ttlMs?: number;
  maxEntries?: number;
  /** Verifies JWTs; absent: bearer tokens are API keys only. */
  verifyJwt?: (token: string) => Promise<JwtIdentity | null>;
}

/**
 * Resolves bearer credentials (API keys, and JWTs when configured) to a Viewer. Lookups are
 * memoised for a short time so that the hot path does not hit the database on every request; a
 * revoked key stops working within `ttlMs`, and a JWT is never honoured past its `exp`.
 * last_used_at is written at most once per key per minute, off the request path.
 */
export class Authenticator {
  private readonly cache = new Map<string, { viewer: Viewer | null; until: number }>();
  private readonly touched = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly readDb: Kysely<Database>,
    private readonly writeDb: Kysely<Database>,
    private readonly opts: AuthenticatorOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

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
      let until = now + this.ttlMs;
      if (this.opts.verifyJwt && looksLikeJwt(token)) {
        const id = await this.opts.verifyJwt(token);
        viewer = id ? await this.viewerForJwt(id) : null;
        if (id?.expiresAt) until = Math.min(until, id.expiresAt * 1000);
      } else {
        viewer = await findViewerByKeyHash(this.readDb, hash);
      }
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(hash, { viewer, until });
    }
    if (viewer?.keyId) this.recordUse(viewer.keyId, now);
    return viewer;
  }

  /** Forget memoised lookups (in tests). */
  invalidate(): void {
    this.cache.clear();
  }

  /**
   * Forget one key's memoised lookup (revokeApiKey on this instance): it is refused from the next
   * request on here; other instances hold their memo at most `ttlMs` (AUTH_CACHE_TTL_MS).
   */
  forgetKeyHash(keyHash: string): void {
    this.cache.delete(keyHash);
  }

  /** The org must exist: a token for an unknown org is as bad as a bad signature. */
  private async viewerForJwt(id: JwtIdentity): Promise<Viewer | null> {
    const org = await this.readDb.selectFrom('orgs').select(['id', 'name']).where('id', '=', id.orgId).executeTakeFirst();
    if (!org) return null;
    return {
      orgId: org.id,
      orgName: org.name,
      role: id.role,
      projectIds: id.projectIds,
      keyId: null,
      keyName: null,
      subject: `jwt:${id.subject}`,
    };
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
