import { describe, expect, it } from 'vitest';
import { cloudflareSaysBot, isBot } from './bots.ts';

/** Real User-Agent strings (2024-2026 releases). */
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

describe('isBot (public keys)', () => {
  it('lets real browsers through', () => {
    for (const ua of [UA.iphoneSafari, UA.androidChrome, UA.ipad, UA.windowsEdge, UA.macFirefox, UA.smartTv]) {
      expect(isBot(ua)).toBe(false);
      expect(isBot(ua, undefined, 'public')).toBe(false);
    }
  });

  it('flags crawlers, HTTP clients and headless browsers from the maintained list', () => {
    for (const ua of [UA.googlebot, UA.googlebotSmartphone, UA.curl, UA.headlessChrome, 'python-requests/2.31.0', 'Wget/1.21.4']) {
      expect(isBot(ua)).toBe(true);
    }
  });

  it('flags bare HTTP-library UAs but not app UAs with a platform comment', () => {
    expect(isBot('okhttp/4.12.0')).toBe(true);
    expect(isBot('MyApp/1.2.3 (Linux; Android 14; Pixel 8)')).toBe(false);
    expect(isBot('MyApp/1.2.3 CFNetwork/1494.0.7 Darwin/23.4.0')).toBe(false);
  });

  it('treats a missing or empty User-Agent as a bot (every browser sends one)', () => {
    expect(isBot(null)).toBe(true);
    expect(isBot('')).toBe(true);
    expect(isBot('  ')).toBe(true);
  });

  it('adds Cloudflare Bot Management when present', () => {
    expect(isBot(UA.windowsEdge, { botManagement: { score: 1 } })).toBe(true);
    expect(isBot(UA.windowsEdge, { botManagement: { score: 29 } })).toBe(true);
    expect(isBot(UA.windowsEdge, { botManagement: { score: 30 } })).toBe(false);
    expect(isBot(UA.windowsEdge, { botManagement: { score: 99, verifiedBot: true } })).toBe(true);
    // The UA list still applies when Cloudflare thinks the request is human.
    expect(isBot(UA.headlessChrome, { botManagement: { score: 90, verifiedBot: false } })).toBe(true);
  });

  it('ignores an unscored or malformed botManagement', () => {
    expect(isBot(UA.windowsEdge, { botManagement: { score: 0 } })).toBe(false);
    expect(isBot(UA.windowsEdge, { botManagement: {} })).toBe(false);
    expect(isBot(UA.windowsEdge, { botManagement: null })).toBe(false);
    expect(isBot(UA.windowsEdge, { botManagement: { score: '5', verifiedBot: 'true' } })).toBe(false);
    expect(isBot(UA.windowsEdge, { botManagement: { score: Number.NaN } })).toBe(false);
    expect(isBot(UA.windowsEdge, 'not an object')).toBe(false);
    expect(isBot(UA.windowsEdge, { country: 'US', colo: 'DFW' })).toBe(false);
  });
});

describe('isBot (server keys)', () => {
  it('checks the end user UA a server forwards, and nothing else', () => {
    expect(isBot(UA.googlebot, undefined, 'server')).toBe(true);
    expect(isBot(UA.headlessChrome, undefined, 'server')).toBe(true);
    expect(isBot(UA.iphoneSafari, undefined, 'server')).toBe(false);
    // Bot Management scores the customer's server, not the end user: ignored.
    expect(isBot(UA.iphoneSafari, { botManagement: { score: 1, verifiedBot: true } }, 'server')).toBe(false);
  });

  it('without a forwarded UA nothing is known: not a bot', () => {
    expect(isBot(null, undefined, 'server')).toBe(false);
    expect(isBot('', undefined, 'server')).toBe(false);
    expect(isBot('   ', { botManagement: { score: 1, verifiedBot: true } }, 'server')).toBe(false);
  });
});

describe('cloudflareSaysBot', () => {
  it('reads only botManagement', () => {
    expect(cloudflareSaysBot(undefined)).toBe(false);
    expect(cloudflareSaysBot({ botManagement: { verifiedBot: true } })).toBe(true);
    expect(cloudflareSaysBot({ botManagement: { score: 12 } })).toBe(true);
  });
});
