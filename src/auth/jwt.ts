import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import type { Role } from '../db/schema';
import { ROLES } from './permissions';

export interface JwtIdentity {
  readonly subject: string;
  readonly orgId: string;
  readonly role: Role;
  readonly projectIds: readonly string[] | null;
  /** Seconds since the epoch; the authenticator never memoises past it. */
  readonly expiresAt: number | null;
}

type JwtConfig = NonNullable<Config['auth']['jwt']>;

/** A compact JWS has three base64url parts; API keys (`obs_…`) never do. */
export const looksLikeJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);

/**
 * Verifies HS256 tokens against JWT_SECRET or asymmetric ones against a JWKS URL (keys fetched
 * and cached by jose, refetched on an unknown `kid`), then maps the configured claims to an
 * identity. Anything missing or malformed is a failed verification (null), never a throw.
 */
export function createJwtVerifier(cfg: JwtConfig): (token: string) => Promise<JwtIdentity | null> {
  const key: Uint8Array | JWTVerifyGetKey = cfg.secret ? new TextEncoder().encode(cfg.secret) : createRemoteJWKSet(new URL(cfg.jwksUrl!));
  const algorithms = cfg.secret ? ['HS256'] : ['RS256', 'ES256', 'PS256', 'EdDSA'];
  return async (token) => {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: cfg.issuer,
        audience: cfg.audience,
        requiredClaims: ['sub', 'exp'],
      });
      payload = verified.payload;
    } catch {
      return null;
    }
    return identityFromClaims(payload, cfg.claims);
  };
}

export function identityFromClaims(payload: JWTPayload, claims: JwtConfig['claims']): JwtIdentity | null {
  const orgId = payload[claims.org];
  const role = typeof payload[claims.role] === 'string' ? (payload[claims.role] as string).toUpperCase() : undefined;
  const projects = payload[claims.projects];
  if (typeof payload.sub !== 'string' || !payload.sub || typeof orgId !== 'string' || !orgId) return null;
  if (!role || !(ROLES as string[]).includes(role)) return null;
  if (projects != null && (!Array.isArray(projects) || !projects.every((p) => typeof p === 'string'))) return null;
  return {
    subject: payload.sub,
    orgId,
    role: role as Role,
    projectIds: Array.isArray(projects) && projects.length ? (projects as string[]) : null,
    expiresAt: typeof payload.exp === 'number' ? payload.exp : null,
  };
}
