import { describe, expect, it } from 'vitest';
import { mintViewerToken, verifyViewerToken } from './viewer-token.ts';

const SECRET = 'a-test-secret-of-enough-length';
const NOW = Date.UTC(2026, 10, 23, 12);
const claims = { projectId: 'shop', topicPrefix: 'metrics:ad_click', exp: NOW / 1000 + 300 };

describe('viewer tokens', () => {
  it('verifies a token it minted and returns its claims', async () => {
    const token = await mintViewerToken(SECRET, claims);
    expect(await verifyViewerToken(SECRET, token, NOW)).toEqual({ ok: true, claims: { ...claims, v: 1 } });
  });

  it('refuses an expired token', async () => {
    const token = await mintViewerToken(SECRET, { ...claims, exp: NOW / 1000 - 1 });
    expect(await verifyViewerToken(SECRET, token, NOW)).toMatchObject({ ok: false, code: 'token_expired' });
  });

  it('refuses a token signed with another secret', async () => {
    const token = await mintViewerToken('another-secret-of-enough-length', claims);
    expect(await verifyViewerToken(SECRET, token, NOW)).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('refuses tampered claims (e.g. another project) even with the original signature', async () => {
    const token = await mintViewerToken(SECRET, claims);
    const [, signature] = token.split('.');
    const forged = btoa(JSON.stringify({ ...claims, projectId: 'victim', v: 1 })).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(await verifyViewerToken(SECRET, `${forged}.${signature}`, NOW)).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('refuses garbage without throwing', async () => {
    for (const garbage of ['', '.', 'a.b.c', 'abc', '!!!.###', `${'x'.repeat(3000)}.y`, 'e30.', '.e30']) {
      const result = await verifyViewerToken(SECRET, garbage, NOW);
      expect(result.ok).toBe(false);
    }
  });

  it('refuses to mint with a short secret', async () => {
    await expect(mintViewerToken('short', claims)).rejects.toThrow(/at least 16/);
  });
});
