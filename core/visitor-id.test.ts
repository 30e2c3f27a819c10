import { describe, expect, it } from 'vitest';
import { clientRateKey, newSalt, saltDay, visitorId, type VisitorIdInput } from './visitor-id.ts';

const SALT = newSalt();
const IPV4 = '203.0.113.195';
const IPV6 = '2001:db8:85a3::8a2e:370:7334';
const UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const BASE: VisitorIdInput = { salt: SALT, ip: IPV4, userAgent: UA, projectId: 'shop' };

describe('visitorId', () => {
  it('is v_ + 32 hex characters (16 bytes)', async () => {
    expect(await visitorId(BASE)).toMatch(/^v_[0-9a-f]{32}$/);
  });

  it('is stable for the same salt, IP, User-Agent and project', async () => {
    const first = await visitorId(BASE);
    expect(await visitorId({ ...BASE })).toBe(first);
    expect(await visitorId({ ...BASE, ip: ` ${IPV4} ` })).toBe(first);
  });

  it('matches an independent HMAC-SHA256 over the length-prefixed fields', async () => {
    const utf8 = new TextEncoder();
    const bytes: number[] = [];
    for (const field of ['edgepulse.visitor.v1', 'shop', IPV4, UA]) {
      const encoded = utf8.encode(field);
      bytes.push(0, 0, encoded.length >> 8, encoded.length & 0xff, ...encoded);
    }
    const key = await crypto.subtle.importKey('raw', utf8.encode(SALT), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, Uint8Array.from(bytes)));
    const expected = Array.from(mac.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
    expect(await visitorId(BASE)).toBe(`v_${expected}`);
  });

  it('differs across salts (days), projects, IPs and User-Agents', async () => {
    const ids = await Promise.all([
      visitorId(BASE),
      visitorId({ ...BASE, salt: newSalt() }),
      visitorId({ ...BASE, projectId: 'blog' }),
      visitorId({ ...BASE, ip: '203.0.113.196' }),
      visitorId({ ...BASE, ip: IPV6 }),
      visitorId({ ...BASE, userAgent: `${UA} ` }),
      visitorId({ ...BASE, userAgent: 'curl/8.5.0' }),
    ]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is unambiguous: moving bytes between fields changes the id', async () => {
    const a = await visitorId({ ...BASE, projectId: 'ab', ip: 'c' });
    const b = await visitorId({ ...BASE, projectId: 'a', ip: 'bc' });
    expect(a).not.toBe(b);
  });

  it('treats IPv6 letter case as the same address', async () => {
    expect(await visitorId({ ...BASE, ip: IPV6.toUpperCase() })).toBe(await visitorId({ ...BASE, ip: IPV6 }));
  });

  it('never contains the IP, in any common spelling', async () => {
    for (const ip of [IPV4, IPV6, '10.0.0.1']) {
      const id = await visitorId({ ...BASE, ip });
      const hexIp = ip
        .split('.')
        .map((part) => Number(part).toString(16).padStart(2, '0'))
        .join('');
      expect(id).not.toContain(ip);
      expect(id).not.toContain(ip.replace(/[.:]/g, ''));
      expect(id).not.toContain(hexIp);
    }
  });

  it('accepts the hex salts the registry stores', async () => {
    const hexSalt = 'a3'.repeat(32);
    expect(await visitorId({ ...BASE, salt: hexSalt })).toMatch(/^v_[0-9a-f]{32}$/);
  });

  it('refuses a salt too short to be a secret', async () => {
    await expect(visitorId({ ...BASE, salt: 'short' })).rejects.toThrow(/salt/);
    await expect(visitorId({ ...BASE, salt: '' })).rejects.toThrow(/salt/);
  });

  it('bounds the User-Agent it hashes to 512 characters', async () => {
    const long = 'x'.repeat(512);
    expect(await visitorId({ ...BASE, userAgent: `${long}a` })).toBe(await visitorId({ ...BASE, userAgent: `${long}b` }));
  });
});

describe('saltDay', () => {
  it('is the UTC calendar day', () => {
    expect(saltDay(Date.UTC(2026, 10, 23, 0, 0, 0))).toBe('2026-11-23');
    expect(saltDay(Date.UTC(2026, 10, 23, 23, 59, 59, 999))).toBe('2026-11-23');
    expect(saltDay(Date.UTC(2026, 10, 24))).toBe('2026-11-24');
    expect(saltDay(Date.UTC(2024, 1, 29, 12))).toBe('2024-02-29');
  });
});

describe('newSalt', () => {
  it('is 32 random bytes as unpadded base64url', () => {
    const salt = newSalt();
    expect(salt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fromBase64url(salt)).toHaveLength(32);
    expect(newSalt()).not.toBe(salt);
  });

  it('encodes the bytes it is given', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const salt = newSalt((b) => b.set(bytes));
    expect(fromBase64url(salt)).toEqual(bytes);
  });
});

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

describe('clientRateKey', () => {
  const base = { salt: SALT, ip: IPV4, projectId: 'shop' };

  it('is one key per (salt, project, IP), whatever the User-Agent, and never a visitor id', async () => {
    const key = await clientRateKey(base);
    expect(key).toMatch(/^c_[0-9a-f]{32}$/);
    expect(await clientRateKey({ ...base, ip: ` ${IPV4} ` })).toBe(key);
    expect(await clientRateKey({ ...base, ip: IPV6 })).not.toBe(key);
    expect(await clientRateKey({ ...base, projectId: 'other' })).not.toBe(key);
    expect(await clientRateKey({ ...base, salt: newSalt() })).not.toBe(key);
    expect(key.slice(2)).not.toBe((await visitorId(BASE)).slice(2));
  });

  it('never contains the IP', async () => {
    const key = await clientRateKey(base);
    expect(key).not.toContain(IPV4);
  });
});
