import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed download URLs: `?expires=<unix s>&signature=<base64url HMAC-SHA256>` over the job id,
 * its org and the expiry. A token works for that one job of that one org until it expires;
 * anything else (another job, another org, a later expiry, a changed byte) fails the check.
 */
export function signDownload(secret: string, jobId: string, orgId: string, expiresAt: number): string {
  return createHmac('sha256', secret).update(`export-download\n${jobId}\n${orgId}\n${expiresAt}`).digest('base64url');
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'malformed' | 'expired' | 'bad-signature' };

export function verifyDownload(secret: string, jobId: string, orgId: string, expires: string, signature: string, nowMs = Date.now()): TokenCheck {
  if (!/^\d{1,12}$/.test(expires) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(signDownload(secret, jobId, orgId, Number(expires)));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  // Checked after the signature, so an attacker learns nothing about which part was wrong.
  if (Number(expires) * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true };
}

export function downloadPath(jobId: string): string {
  return `/exports/${jobId}/download`;
}

export function signedDownloadPath(secret: string, jobId: string, orgId: string, ttlSeconds: number, nowMs = Date.now()): string {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  return `${downloadPath(jobId)}?expires=${expires}&signature=${signDownload(secret, jobId, orgId, expires)}`;
}
