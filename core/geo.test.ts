import { describe, expect, it } from 'vitest';
import { GEO_TEXT_MAX_LENGTH, geoFromCf, isLocated, mergeGeo } from './geo.ts';
import { MAX_DIMENSIONS } from './limits.ts';

/** Shaped like a production request.cf (values from Cloudflare's docs and miniflare's placeholder). */
const CF = {
  asn: 395747,
  asOrganization: 'Example ISP',
  colo: 'DFW',
  city: 'Austin',
  region: 'Texas',
  regionCode: 'TX',
  country: 'US',
  continent: 'NA',
  timezone: 'America/Chicago',
  latitude: '30.27130',
  longitude: '-97.74260',
  httpProtocol: 'HTTP/2',
  tlsVersion: 'TLSv1.3',
  botManagement: { score: 54, verifiedBot: false },
};

describe('geoFromCf', () => {
  it('reads the geo fields of request.cf', () => {
    expect(geoFromCf(CF)).toEqual({
      country: 'US',
      region: 'Texas',
      city: 'Austin',
      continent: 'NA',
      colo: 'DFW',
      timezone: 'America/Chicago',
      asn: 395747,
    });
  });

  it('returns {} for a missing or non-object cf (local dev, tests)', () => {
    for (const cf of [undefined, null, 'US', 42, true, []]) expect(geoFromCf(cf)).toEqual({});
  });

  it('normalises codes to upper case and rejects malformed ones', () => {
    expect(geoFromCf({ country: 'de', continent: 'eu', colo: 'fra' })).toEqual({ country: 'DE', continent: 'EU', colo: 'FRA' });
    expect(geoFromCf({ country: 'T1' }).country).toBe('T1'); // Tor
    for (const country of ['XX', 'USA', 'U', '', '1A', 12, null]) expect(geoFromCf({ country }).country).toBeUndefined();
    for (const continent of ['XX', 'Europe', 1]) expect(geoFromCf({ continent }).continent).toBeUndefined();
    for (const colo of ['DF', 'DFW1', 7]) expect(geoFromCf({ colo }).colo).toBeUndefined();
  });

  it('bounds and cleans free text, drops what cannot be stored', () => {
    const long = geoFromCf({ city: 'A'.repeat(1000), region: '  Île-de-France\u0000 ' });
    expect(long.city?.length).toBe(GEO_TEXT_MAX_LENGTH);
    expect(long.region).toBe('Île-de-France');
    expect(geoFromCf({ city: '', region: '   ' })).toEqual({});
    expect(geoFromCf({ city: 'bad\uD800' }).city).toBeUndefined();
    // A cut never leaves half a surrogate pair behind.
    const emoji = geoFromCf({ city: `${'a'.repeat(GEO_TEXT_MAX_LENGTH - 1)}😀` }).city;
    expect(emoji).toBe('a'.repeat(GEO_TEXT_MAX_LENGTH - 1));
  });

  it('validates timezone and asn', () => {
    expect(geoFromCf({ timezone: 'Europe/Paris' }).timezone).toBe('Europe/Paris');
    expect(geoFromCf({ timezone: 'Etc/GMT+5' }).timezone).toBe('Etc/GMT+5');
    for (const timezone of ['', '../../etc', 'x'.repeat(100), 5]) expect(geoFromCf({ timezone }).timezone).toBeUndefined();
    for (const asn of [0, -1, 1.5, 2 ** 32, '13335', Number.NaN]) expect(geoFromCf({ asn }).asn).toBeUndefined();
    expect(geoFromCf({ asn: 13335 }).asn).toBe(13335);
  });

  it('reads inherited fields too (cf need not be a plain object)', () => {
    expect(geoFromCf(Object.create({ country: 'FR' }))).toEqual({ country: 'FR' });
  });

  it('counts only country/region/city/continent as a location', () => {
    expect(isLocated(geoFromCf({ colo: 'DFW', asn: 1, timezone: 'UTC' }))).toBe(false);
    expect(isLocated({ continent: 'EU' })).toBe(true);
  });
});

describe('mergeGeo', () => {
  const geo = geoFromCf(CF);

  it('public keys: the edge location replaces client-sent geo as a whole', () => {
    const client = { campaignId: 'camp_1', country: 'FR', city: 'Paris', region: 'IDF', continent: 'EU' };
    expect(mergeGeo(client, geo, 'public')).toEqual({ campaignId: 'camp_1', country: 'US', region: 'Texas', continent: 'NA' });
  });

  it('public keys: a client value the edge lacks is dropped when the edge located the request', () => {
    expect(mergeGeo({ region: 'Bavaria' }, { country: 'DE' }, 'public')).toEqual({ country: 'DE' });
  });

  it('public keys: without any edge location (no cf) the client values stay', () => {
    const client = { country: 'FR', city: 'Paris' };
    expect(mergeGeo(client, {}, 'public')).toEqual(client);
    expect(mergeGeo(client, { colo: 'CDG', asn: 3215 }, 'public')).toEqual(client);
  });

  it('server keys: client values win and the edge geo (of the server) is not applied', () => {
    expect(mergeGeo({ country: 'FR' }, geo, 'server')).toEqual({ country: 'FR' });
    expect(mergeGeo({ campaignId: 'c' }, geo, 'server')).toEqual({ campaignId: 'c' });
  });

  it('never mutates its input', () => {
    const client = Object.freeze({ country: 'FR' });
    expect(mergeGeo(client, geo, 'public')).not.toBe(client);
    expect(client).toEqual({ country: 'FR' });
  });

  it('never takes an event past MAX_DIMENSIONS', () => {
    const full: Record<string, string> = {};
    for (let i = 0; i < MAX_DIMENSIONS; i++) full[`d${i}`] = 'x';
    expect(Object.keys(mergeGeo(full, geo, 'public'))).toHaveLength(MAX_DIMENSIONS);
    expect(mergeGeo(full, geo, 'public').country).toBeUndefined();

    const room: Record<string, string> = {};
    for (let i = 0; i < MAX_DIMENSIONS - 1; i++) room[`d${i}`] = 'x';
    const merged = mergeGeo({ ...room }, geo, 'public');
    expect(Object.keys(merged)).toHaveLength(MAX_DIMENSIONS);
    expect(merged.country).toBe('US'); // highest priority geo key gets the last slot

    // A client geo key that is replaced frees its slot for the edge's value.
    const withCountry = { ...room, country: 'FR' };
    expect(mergeGeo(withCountry, geo, 'public').country).toBe('US');
  });
});
