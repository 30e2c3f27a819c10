import { describe, expect, it } from 'vitest';
import { isBot } from './bots.ts';
import { ENRICHMENT_KEYS, enrichEvent, type EnrichmentContext } from './enrich.ts';
import { validateEvent, type ValidEvent } from './events.ts';
import { geoFromCf, mergeGeo } from './geo.ts';
import { DIMENSION_VALUE_MAX_LENGTH, MAX_DIMENSIONS } from './limits.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const WINDOWS_EDGE =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.67';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const CF = { country: 'US', region: 'Texas', city: 'Austin', continent: 'NA', colo: 'DFW', timezone: 'America/Chicago', asn: 395747 };

function event(raw: Record<string, unknown> = {}): ValidEvent {
  const result = validateEvent(
    { eventId: 'evt_1', eventType: 'page_view', timestamp: NOW - 1000, ...raw },
    { nowMs: NOW, newEventId: () => 'minted' },
  );
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.event;
}

function context(overrides: Partial<EnrichmentContext> = {}): EnrichmentContext {
  return {
    receivedAtMs: NOW,
    keyKind: 'public',
    userAgent: IPHONE,
    geo: geoFromCf(CF),
    visitorId: 'v_0123456789abcdef0123456789abcdef',
    bot: false,
    ...overrides,
  };
}

function manyDimensions(n: number): Record<string, string> {
  const dims: Record<string, string> = {};
  for (let i = 0; i < n; i++) dims[`d${String(i).padStart(2, '0')}`] = `v${i}`;
  return dims;
}

describe('enrichEvent', () => {
  it('adds server time, bot flag, identity and edge dimensions for a browser event', () => {
    const enriched = enrichEvent(event({ value: 2, dimensions: { campaignId: 'camp_1' } }), context());
    expect(enriched).toEqual({
      eventId: 'evt_1',
      eventType: 'page_view',
      timestampMs: NOW - 1000,
      value: 2,
      receivedAtMs: NOW,
      bot: false,
      userId: 'v_0123456789abcdef0123456789abcdef',
      identity: 'visitor',
      dimensions: {
        campaignId: 'camp_1',
        deviceType: 'MOBILE',
        browser: 'Safari',
        os: 'iOS',
        country: 'US',
        region: 'Texas',
        continent: 'NA',
      },
    });
  });

  it('userId = userId ?? visitorId ?? eventId', () => {
    expect(enrichEvent(event({ userId: 'usr_9' }), context())).toMatchObject({ userId: 'usr_9', identity: 'user' });
    expect(enrichEvent(event({ dimensions: { userId: 'usr_7' } }), context())).toMatchObject({ userId: 'usr_7', identity: 'user' });
    expect(enrichEvent(event(), context({ visitorId: null }))).toMatchObject({ userId: 'evt_1', identity: 'event' });
  });

  it('public keys: edge values override client-sent ones', () => {
    const client = { deviceType: 'TABLET', browser: 'Netscape', os: 'BeOS', country: 'FR', city: 'Paris', campaignId: 'c' };
    const enriched = enrichEvent(event({ dimensions: client }), context({ userAgent: WINDOWS_EDGE }));
    expect(enriched.dimensions).toEqual({
      campaignId: 'c',
      deviceType: 'DESKTOP',
      browser: 'Microsoft Edge',
      os: 'Windows',
      country: 'US',
      region: 'Texas',
      continent: 'NA',
    });
  });

  it('public keys without cf geo keep the client geo (local dev)', () => {
    const enriched = enrichEvent(event({ dimensions: { country: 'FR' } }), context({ geo: geoFromCf(undefined) }));
    expect(enriched.dimensions).toEqual({ country: 'FR', deviceType: 'MOBILE', browser: 'Safari', os: 'iOS' });
  });

  it('public keys: geo dimensions agree with mergeGeo', () => {
    const client = { country: 'FR', city: 'Paris', campaignId: 'c' };
    const enriched = enrichEvent(event({ dimensions: client }), context({ userAgent: null }));
    const { deviceType: _deviceType, ...geoOnly } = enriched.dimensions;
    expect(geoOnly).toEqual(mergeGeo(client, geoFromCf(CF), 'public'));
  });

  it('server keys: client values win, only absent keys are filled, cf geo is never applied', () => {
    const client = { deviceType: 'TABLET', campaignId: 'c' };
    const withUa = enrichEvent(event({ dimensions: client }), context({ keyKind: 'server', userAgent: WINDOWS_EDGE }));
    expect(withUa.dimensions).toEqual({ deviceType: 'TABLET', campaignId: 'c', browser: 'Microsoft Edge', os: 'Windows' });

    const noUa = enrichEvent(event({ dimensions: { country: 'FR' } }), context({ keyKind: 'server', userAgent: null, visitorId: null }));
    expect(noUa.dimensions).toEqual({ country: 'FR' });
    expect(noUa.bot).toBe(false);
  });

  it('marks bots and labels their device BOT', () => {
    const ua = GOOGLEBOT;
    const bot = isBot(ua, undefined, 'public');
    const enriched = enrichEvent(event({ dimensions: { deviceType: 'MOBILE' } }), context({ userAgent: ua, bot }));
    expect(enriched.bot).toBe(true);
    expect(enriched.dimensions.deviceType).toBe('BOT');
    expect(enriched.dimensions.browser).toBe('Googlebot');

    // Bot by Cloudflare's score although the UA looks human.
    const scored = enrichEvent(event(), context({ userAgent: WINDOWS_EDGE, bot: isBot(WINDOWS_EDGE, { botManagement: { score: 2 } }) }));
    expect(scored).toMatchObject({ bot: true, dimensions: { deviceType: 'BOT', browser: 'Microsoft Edge' } });

    // No UA on a public key: a bot, with no browser/os to report.
    const noUa = enrichEvent(event(), context({ userAgent: null, bot: isBot(null) }));
    expect(noUa.bot).toBe(true);
    expect(noUa.dimensions).toEqual({ deviceType: 'BOT', country: 'US', region: 'Texas', continent: 'NA' });
  });

  it('never pushes an event past MAX_DIMENSIONS; drops enrichment keys in priority order', () => {
    const full = enrichEvent(event({ dimensions: manyDimensions(MAX_DIMENSIONS) }), context());
    expect(Object.keys(full.dimensions)).toHaveLength(MAX_DIMENSIONS);
    for (const key of ENRICHMENT_KEYS) expect(full.dimensions[key]).toBeUndefined();

    for (let room = 1; room <= ENRICHMENT_KEYS.length; room++) {
      const enriched = enrichEvent(event({ dimensions: manyDimensions(MAX_DIMENSIONS - room) }), context());
      expect(Object.keys(enriched.dimensions)).toHaveLength(MAX_DIMENSIONS);
      const added = ENRICHMENT_KEYS.filter((key) => key in enriched.dimensions);
      expect(added).toEqual(ENRICHMENT_KEYS.slice(0, room));
    }
  });

  it('a full event still gets edge values for keys it already has (public key)', () => {
    const dims = { ...manyDimensions(MAX_DIMENSIONS - 1), deviceType: 'TABLET' };
    const enriched = enrichEvent(event({ dimensions: dims }), context());
    expect(Object.keys(enriched.dimensions)).toHaveLength(MAX_DIMENSIONS);
    expect(enriched.dimensions.deviceType).toBe('MOBILE');
  });

  it('is deterministic and leaves its input untouched', () => {
    const input = event({ dimensions: { ...manyDimensions(30), country: 'FR' } });
    const snapshot = structuredClone(input);
    const a = enrichEvent(input, context());
    const b = enrichEvent(input, context());
    expect(a).toEqual(b);
    expect(Object.keys(a.dimensions)).toEqual(Object.keys(b.dimensions));
    expect(input).toEqual(snapshot);
    expect(a.dimensions).not.toBe(input.dimensions);
  });

  it('keeps every dimension value within bounds', () => {
    const enriched = enrichEvent(
      event({ dimensions: { note: 'n'.repeat(DIMENSION_VALUE_MAX_LENGTH) } }),
      context({ userAgent: `${WINDOWS_EDGE} ${'z'.repeat(5000)}`, geo: geoFromCf({ ...CF, region: 'R'.repeat(10_000) }) }),
    );
    for (const value of Object.values(enriched.dimensions)) expect(value.length).toBeLessThanOrEqual(DIMENSION_VALUE_MAX_LENGTH);
    expect(Object.keys(enriched.dimensions).length).toBeLessThanOrEqual(MAX_DIMENSIONS);
  });
});
