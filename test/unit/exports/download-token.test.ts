import { signDownload, signedDownloadPath, verifyDownload } from '../../../src/modules/exports/download-token';

const SECRET = 'a'.repeat(43);
const JOB = '11111111-1111-4111-8111-111111111111';
const OTHER_JOB = '22222222-2222-4222-8222-222222222222';

describe('signed download URLs', () => {
  const now = Date.UTC(2026, 11, 2, 1, 0, 0);
  const expires = String(now / 1000 + 60);
  const sig = signDownload(SECRET, JOB, 'org_a', Number(expires));

  it('accepts its own job, org and expiry until it expires', () => {
    expect(verifyDownload(SECRET, JOB, 'org_a', expires, sig, now)).toEqual({ ok: true });
    expect(verifyDownload(SECRET, JOB, 'org_a', expires, sig, now + 61_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('is bound to the job, the org, the expiry and the secret', () => {
    expect(verifyDownload(SECRET, OTHER_JOB, 'org_a', expires, sig, now).ok).toBe(false);
    expect(verifyDownload(SECRET, JOB, 'org_b', expires, sig, now).ok).toBe(false);
    expect(verifyDownload(SECRET, JOB, 'org_a', String(Number(expires) + 1), sig, now).ok).toBe(false);
    expect(verifyDownload('b'.repeat(43), JOB, 'org_a', expires, sig, now).ok).toBe(false);
  });

  it('refuses malformed input without throwing', () => {
    for (const [e, s] of [['', ''], ['abc', sig], [expires, 'short'], [expires, `${sig}x`], ['1e99', sig], [expires, sig.replace(/./, '+')]]) {
      expect(verifyDownload(SECRET, JOB, 'org_a', e!, s!, now).ok).toBe(false);
    }
  });

  it('builds the path the route checks', () => {
    const p = signedDownloadPath(SECRET, JOB, 'org_a', 60, now);
    const u = new URL(p, 'http://x');
    expect(u.pathname).toBe(`/exports/${JOB}/download`);
    expect(verifyDownload(SECRET, JOB, 'org_a', u.searchParams.get('expires')!, u.searchParams.get('signature')!, now)).toEqual({ ok: true });
  });
});
