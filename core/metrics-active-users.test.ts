import { describe, expect, it } from 'vitest';
import { DEFAULT_ACTIVE_SECONDS, parseActiveUsersQuery } from './metrics-active-users.ts';

const parse = (query: string) => parseActiveUsersQuery(new URLSearchParams(query));

describe('GET /v1/active-users parameters', () => {
  it('defaults to the last 5 minutes of every event type', () => {
    expect(parse('')).toEqual({ ok: true, query: { lastSeconds: DEFAULT_ACTIVE_SECONDS, eventType: '*', filters: {} } });
    expect(parse('lastSeconds=60&eventType=page_view&country=US&key=ep_read_x')).toEqual({
      ok: true,
      query: { lastSeconds: 60, eventType: 'page_view', filters: { country: 'US' } },
    });
  });

  it('rejects a window beyond the panes kept, bad names and too many filters', () => {
    for (const [query, code] of [
      ['lastSeconds=0', 'invalid_last_seconds'],
      ['lastSeconds=3601', 'invalid_last_seconds'],
      ['lastSeconds=1e3', 'invalid_last_seconds'],
      ['eventType=a%20b', 'invalid_event_type'],
      ['no%20such=1', 'invalid_filter'],
      [Array.from({ length: 9 }, (_, i) => `d${i}=x`).join('&'), 'too_many_filters'],
    ] as const) {
      expect(parse(query)).toMatchObject({ ok: false, code });
    }
  });
});
