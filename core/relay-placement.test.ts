import { describe, expect, it } from 'vitest';
import { assignRelay, freeSlots, LEASE_MS, relayHintFor, type RelayRecord } from './relay-placement.ts';

describe('relay placement', () => {
  it('maps request.cf to a location hint', () => {
    expect(relayHintFor({ continent: 'NA', longitude: '-122.4' })).toBe('wnam');
    expect(relayHintFor({ continent: 'NA', longitude: '-74.0' })).toBe('enam');
    expect(relayHintFor({ continent: 'EU', longitude: '8.68' })).toBe('weur');
    expect(relayHintFor({ continent: 'EU', longitude: '30.5' })).toBe('eeur');
    expect(relayHintFor({ continent: 'AS', country: 'AE' })).toBe('me');
    expect(relayHintFor({ continent: 'AS', country: 'JP' })).toBe('apac');
    expect(relayHintFor({ continent: 'OC' })).toBe('oc');
    expect(relayHintFor({ continent: 'AF' })).toBe('afr');
    expect(relayHintFor({ continent: 'SA' })).toBe('sam');
    expect(relayHintFor({ continent: 'AN' })).toBeNull();
    expect(relayHintFor(undefined)).toBeNull();
  });

  it('fills a region relay by relay, counting leased slots as taken until they expire', () => {
    const relays: RelayRecord[] = [];
    const input = { projectId: 'p', hint: 'weur' as const, capacity: 3, nowMs: 0, leaseSlots: 2 };
    expect(assignRelay(relays, input)).toEqual({ relay: 'relay:p:weur:0', hint: 'weur', slots: 2, created: true });
    expect(assignRelay(relays, input)).toEqual({ relay: 'relay:p:weur:0', hint: 'weur', slots: 1, created: false });
    expect(assignRelay(relays, input)).toMatchObject({ relay: 'relay:p:weur:1', created: true });
    // Another region gets its own relays.
    expect(assignRelay(relays, { ...input, hint: 'apac' })).toMatchObject({ relay: 'relay:p:apac:0', created: true });
    // A report of viewers who came through a lease does not count them twice...
    const first = relays[0];
    if (first === undefined) throw new Error('no relay');
    first.viewers = 2;
    expect(freeSlots(first, 3, 1)).toBe(0);
    // ...and once the leases expired, the reported count is the occupancy.
    first.viewers = 1;
    expect(freeSlots(first, 3, LEASE_MS + 1)).toBe(2);
    expect(assignRelay(relays, { ...input, nowMs: LEASE_MS + 1 })).toMatchObject({ relay: 'relay:p:weur:0', slots: 2 });
  });

  it('skips relays an edge found full', () => {
    const relays: RelayRecord[] = [{ name: 'relay:p:any:0', hint: null, viewers: 0, leases: [] }];
    expect(assignRelay(relays, { projectId: 'p', hint: null, capacity: 5, nowMs: 0, exclude: ['relay:p:any:0'] })).toMatchObject({ relay: 'relay:p:any:1', created: true });
  });
});
