import { describe, expect, it } from 'vitest';
import { base64url, hasValidTag, hashKey, isOriginAllowed, keyFormat, KEY_PREFIX, mintKey, newKeyTagSecret } from './keys.ts';

const SECRET = newKeyTagSecret();

describe('API keys', () => {
  it('mints tagged keys of each kind whose tag checks out with the secret', async () => {
    for (const kind of ['public', 'server', 'read'] as const) {
      const key = await mintKey(kind, SECRET);
      expect(key.startsWith(KEY_PREFIX[kind])).toBe(true);
      expect(key).toMatch(/^ep_(pub|srv|read)_[A-Za-z0-9_-]{40}$/);
      expect(keyFormat(key)).toBe('tagged');
      expect(await hasValidTag(key, SECRET)).toBe(true);
    }
  });

  it('refuses a tag from another secret, a changed character anywhere, and random well-formed keys', async () => {
    const key = await mintKey('server', SECRET);
    expect(await hasValidTag(key, newKeyTagSecret())).toBe(false);
    for (let i = KEY_PREFIX.server.length; i < key.length; i++) {
      const changed = key.slice(0, i) + (key[i] === 'A' ? 'B' : 'A') + key.slice(i + 1);
      expect(await hasValidTag(changed, SECRET), `position ${i}`).toBe(false);
    }
    let passed = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(30);
      crypto.getRandomValues(bytes);
      if (await hasValidTag(`ep_srv_${base64url(bytes)}`, SECRET)) passed++;
    }
    expect(passed).toBe(0);
  });

  it('tells tagged keys, keys from before tags, and garbage apart', () => {
    expect(keyFormat(`ep_pub_${'a'.repeat(32)}`)).toBe('legacy');
    expect(keyFormat(`ep_read_${'a'.repeat(40)}`)).toBe('tagged');
    for (const garbage of ['', 'ep_pub_', `ep_pub_${'a'.repeat(31)}`, `ep_pub_${'a'.repeat(36)}`, `ep_adm_${'a'.repeat(40)}`, `ep_pub_${'a'.repeat(39)}=`, "' OR 1=1 --"]) {
      expect(keyFormat(garbage), garbage).toBeNull();
    }
  });

  it('uses the same mint for the same random bytes and secret (deterministic tag)', async () => {
    const fixed = (bytes: Uint8Array) => bytes.fill(7);
    expect(await mintKey('public', SECRET, fixed)).toBe(await mintKey('public', SECRET, fixed));
    expect(await mintKey('public', SECRET, fixed)).not.toBe(await mintKey('server', SECRET, fixed));
  });

  it('hashes keys with SHA-256 (hex), never storing the key', async () => {
    expect(await hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('matches origins exactly, or any with *', () => {
    expect(isOriginAllowed('https://a.example', ['https://a.example'])).toBe(true);
    expect(isOriginAllowed('https://a.example:8443', ['https://a.example'])).toBe(false);
    expect(isOriginAllowed('https://b.example', ['*'])).toBe(true);
    expect(isOriginAllowed(null, [])).toBe(true);
  });

  it('refuses a tag secret too short to be one', async () => {
    await expect(mintKey('public', 'short')).rejects.toThrow(/too short/);
  });
});
