import { describe, expect, it } from 'vitest';
import { createUserAgentParser, parseUserAgent, USER_AGENT_MAX_LENGTH } from './user-agent.ts';

const UA = {
  iphoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  androidChrome:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
  androidTablet:
    'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  windowsEdge:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.67',
  macFirefox: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotSmartphone:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.175 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  curl: 'curl/8.5.0',
  headlessChrome:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0.6422.60 Safari/537.36',
  smartTv:
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36',
} as const;

describe('parseUserAgent', () => {
  it.each([
    ['iPhone Safari', UA.iphoneSafari, { deviceType: 'MOBILE', browser: 'Safari', browserVersion: '17.5', os: 'iOS' }],
    ['Android Chrome', UA.androidChrome, { deviceType: 'MOBILE', browser: 'Chrome', browserVersion: '125.0.0.0', os: 'Android' }],
    ['iPad Safari', UA.ipad, { deviceType: 'TABLET', browser: 'Safari', browserVersion: '16.6', os: 'iOS' }],
    ['Android tablet', UA.androidTablet, { deviceType: 'TABLET', browser: 'Chrome', browserVersion: '124.0.0.0', os: 'Android' }],
    ['Windows Edge', UA.windowsEdge, { deviceType: 'DESKTOP', browser: 'Microsoft Edge', browserVersion: '125.0.2535.67', os: 'Windows' }],
    ['macOS Firefox', UA.macFirefox, { deviceType: 'DESKTOP', browser: 'Firefox', browserVersion: '127.0', os: 'macOS' }],
  ])('%s', (_name, ua, expected) => {
    expect(parseUserAgent(ua)).toEqual(expected);
  });

  it('classifies crawlers, HTTP libraries and headless browsers as BOT', () => {
    expect(parseUserAgent(UA.googlebot).deviceType).toBe('BOT');
    expect(parseUserAgent(UA.googlebotSmartphone).deviceType).toBe('BOT');
    expect(parseUserAgent(UA.curl)).toEqual({ deviceType: 'BOT', browser: '', browserVersion: '', os: '' });
    expect(parseUserAgent(UA.headlessChrome)).toMatchObject({ deviceType: 'BOT', os: 'Linux' });
  });

  it('maps TVs and unknown agents to OTHER', () => {
    expect(parseUserAgent(UA.smartTv)).toMatchObject({ deviceType: 'OTHER', os: 'Tizen' });
    expect(parseUserAgent('Mozilla/5.0 (FooOS 1.0) FooBrowser/1.0').deviceType).toBe('OTHER');
  });

  it('takes a bare product token (no platform comment) for a script, as isbot does', () => {
    expect(parseUserAgent('SomethingNobodyKnows').deviceType).toBe('BOT');
    expect(parseUserAgent('okhttp/4.12.0').deviceType).toBe('BOT');
  });

  it('answers OTHER with empty fields for a missing or empty UA (bot policy lives in bots.ts)', () => {
    const unknown = { deviceType: 'OTHER', browser: '', browserVersion: '', os: '' };
    expect(parseUserAgent(null)).toEqual(unknown);
    expect(parseUserAgent('')).toEqual(unknown);
    expect(parseUserAgent('   ')).toEqual(unknown);
  });

  it('never throws and bounds its output on hostile input', () => {
    const huge = `Mozilla/5.0 ${'(x; '.repeat(50_000)}`;
    const control = 'Mozilla/5.0 (Windows NT 10.0) Firefox/127.0\u0000\u0007';
    for (const ua of [huge, control, '\uD800', 'Chrome/'.repeat(1000), ')))(((']) {
      const info = parseUserAgent(ua);
      expect(['MOBILE', 'TABLET', 'DESKTOP', 'BOT', 'OTHER']).toContain(info.deviceType);
      for (const field of [info.browser, info.browserVersion, info.os]) {
        expect(field.length).toBeLessThanOrEqual(64);
        expect(field).not.toMatch(/[\u0000-\u001f]/);
      }
    }
  });

  it('parses only the first 512 characters', () => {
    const padded = `${UA.macFirefox} ${'x'.repeat(USER_AGENT_MAX_LENGTH)}`;
    // A bot token past the cut is not seen: work is bounded by the prefix.
    expect(parseUserAgent(`${padded} Googlebot/2.1`).deviceType).toBe('DESKTOP');
    expect(parseUserAgent(`${padded} a`)).toBe(parseUserAgent(`${padded} b`));
  });

  it('returns frozen, cached results', () => {
    const first = parseUserAgent(UA.windowsEdge);
    expect(parseUserAgent(UA.windowsEdge)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });
});

describe('createUserAgentParser (LRU)', () => {
  it('keeps at most `capacity` entries and evicts the least recently used', () => {
    const parse = createUserAgentParser(2);
    const a = parse(UA.iphoneSafari);
    const b = parse(UA.windowsEdge);
    expect(parse(UA.iphoneSafari)).toBe(a); // a is now the most recent
    parse(UA.macFirefox); // evicts b
    expect(parse(UA.iphoneSafari)).toBe(a);
    const b2 = parse(UA.windowsEdge);
    expect(b2).not.toBe(b);
    expect(b2).toEqual(b);
  });

  it('works with the cache disabled', () => {
    const parse = createUserAgentParser(0);
    expect(parse(UA.ipad)).toEqual(parse(UA.ipad));
    expect(parse(UA.ipad)).not.toBe(parse(UA.ipad));
  });
});
