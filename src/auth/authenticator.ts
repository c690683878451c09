import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { AppError, ErrorCode, fromDatabaseError, serviceUnavailable } from '../shared/errors';
import { findViewerByKeyHash, hashApiKey, touchApiKey } from './api-keys';
import { looksLikeJwt, type JwtIdentity } from './jwt';
import type { Viewer } from './viewer';

export interface AuthenticatorOptions {
  /** How long a lookup is memoised: a revoked key keeps working at most this long (AUTH_CACHE_TTL_MS). */
  ttlMs?: number;
  maxEntries?: number;
  /**
   * While the database cannot answer (unreachable, restarting, pool exhausted), a credential
   * whose memo expired less than this long ago is still honoured (AUTH_STALE_IF_ERROR_MS; 0 off).
   */
  staleIfErrorMs?: number;
  /** Verifies JWTs; absent: bearer tokens are API keys only. */
  verifyJwt?: (token: string) => Promise<JwtIdentity | null>;
  /** A stale memo was served because the database could not answer (metrics). */
  onStaleServed?: () => void;
}

interface Memo {
  readonly viewer: Viewer | null;
  /** Fresh until then: used without asking the database. */
  readonly until: number;
  /** Honoured until then only when the database cannot be asked (never past a JWT's exp). */
  readonly staleUntil: number;
}

/**
 * Resolves bearer credentials (API keys, and JWTs when configured) to a Viewer. Lookups are
 * memoised for a short time so that the hot path does not hit the database on every request; a
 * revoked key stops working within `ttlMs`, and a JWT is never honoured past its `exp`.
 * last_used_at is written at most once per key per minute, off the request path.
 */
export class Authenticator {
  private readonly cache = new Map<string, Memo>();
  private readonly lookups = new Map<string, Promise<Memo>>();
  private readonly touched = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly readDb: Kysely<Database>,
    private readonly writeDb: Kysely<Database>,
    private readonly opts: AuthenticatorOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.staleMs = opts.staleIfErrorMs ?? 0;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /**
   * The viewer of these credentials, null when they are missing or not valid. Throws a coded
   * SERVICE_UNAVAILABLE (HTTP 200, never 500) when the database cannot answer and no recent
   * memo of a valid credential can stand in.
   */
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
      try {
        viewer = (await this.lookup(hash, token, now)).viewer;
      } catch (err) {
        const coded = err instanceof AppError ? err : fromDatabaseError(err);
        if (!coded) throw err;
        // Only a valid credential is kept past its memo: an unknown one stays refused only while fresh.
        const stale = this.cache.get(hash) ?? hit;
        if (stale?.viewer && stale.staleUntil > Date.now()) {
          this.opts.onStaleServed?.();
          viewer = stale.viewer;
        } else {
          throw coded.extensions.code === 'SERVICE_UNAVAILABLE' ? coded : serviceUnavailable('The database is unavailable; retry shortly');
        }
      }
    }
    if (viewer?.keyId) this.recordUse(viewer.keyId, now);
    return viewer;
  }

  /** One database lookup per credential at a time: a burst of requests with an expired memo asks once. */
  private lookup(hash: string, token: string, now: number): Promise<Memo> {
    let pending = this.lookups.get(hash);
    if (!pending) {
      pending = this.resolve(hash, token, now).finally(() => this.lookups.delete(hash));
      this.lookups.set(hash, pending);
    }
    return pending;
  }

  private async resolve(hash: string, token: string, now: number): Promise<Memo> {
    let viewer: Viewer | null;
    let until = now + this.ttlMs;
    let hardUntil = Infinity;
    if (this.opts.verifyJwt && looksLikeJwt(token)) {
      const id = await this.opts.verifyJwt(token);
      viewer = id ? await this.viewerForJwt(id) : null;
      if (id?.expiresAt) hardUntil = id.expiresAt * 1000;
    } else {
      viewer = await findViewerByKeyHash(this.readDb, hash);
    }
    until = Math.min(until, hardUntil);
    const memo: Memo = { viewer, until, staleUntil: Math.min(until + this.staleMs, hardUntil) };
    // Oldest first out (Map order is insertion order): the memos of active keys, which an outage
    // would need, are re-inserted on every refresh and stay.
    this.cache.delete(hash);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(hash, memo);
    return memo;
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

/**
 * The credential of a request: `Authorization: Bearer <key or JWT>`, else `x-api-key`. An
 * Authorization header in another scheme (`Basic …`, a bare key) or a Bearer header without
 * exactly one token is refused with its own message: "no key" would send the caller looking for
 * a key they already have.
 */
export function extractToken(headers: { authorization?: string; apiKey?: string }): string | null {
  const auth = headers.authorization?.trim();
  if (auth) {
    const scheme = /^(\S+)/.exec(auth)?.[1] ?? '';
    if (scheme.toLowerCase() !== 'bearer') {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'Authorization header must use the Bearer scheme: "Authorization: Bearer <key>"', { reason: 'AUTH_SCHEME' });
    }
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Authorization: Bearer must be followed by exactly one key or token', { reason: 'AUTH_SCHEME' });
    return m[1]!;
  }
  return headers.apiKey?.trim() || null;
}
