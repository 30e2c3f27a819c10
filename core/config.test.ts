import { describe, expect, it } from 'vitest';
import { configOf, readConfig, type ConfigVars } from './config.ts';

describe('readConfig', () => {
  it('uses the defaults when nothing is set', () => {
    expect(readConfig({})).toEqual({
      shardCount: 16,
      windowMs: 60_000,
      allowedLatenessMs: 60_000,
      flushIntervalMs: 5_000,
      maxEventsPerRequest: 1000,
      maxBodyBytes: 1_048_576,
      maxFutureSkewMs: 300_000,
      maxEventAgeMs: 7 * 86_400_000,
    });
  });

  it('treats empty strings as unset', () => {
    const vars: ConfigVars = {
      SHARD_COUNT: '',
      WINDOW_SECONDS: '',
      ALLOWED_LATENESS_SECONDS: '',
      FLUSH_INTERVAL_SECONDS: '',
      MAX_EVENTS_PER_REQUEST: '',
      MAX_BODY_BYTES: '',
      MAX_FUTURE_SKEW_SECONDS: '',
      MAX_EVENT_AGE_SECONDS: '',
    };
    expect(readConfig(vars)).toEqual(readConfig({}));
  });

  it('applies overrides and converts seconds to milliseconds', () => {
    expect(
      readConfig({
        SHARD_COUNT: '4',
        WINDOW_SECONDS: '1',
        ALLOWED_LATENESS_SECONDS: '0',
        FLUSH_INTERVAL_SECONDS: '2',
        MAX_EVENTS_PER_REQUEST: '50',
        MAX_BODY_BYTES: '2048',
        MAX_FUTURE_SKEW_SECONDS: '30',
        MAX_EVENT_AGE_SECONDS: '3600',
      }),
    ).toEqual({
      shardCount: 4,
      windowMs: 1000,
      allowedLatenessMs: 0,
      flushIntervalMs: 2000,
      maxEventsPerRequest: 50,
      maxBodyBytes: 2048,
      maxFutureSkewMs: 30_000,
      maxEventAgeMs: 3_600_000,
    });
  });

  it('accepts the bounds of each range', () => {
    expect(readConfig({ SHARD_COUNT: '1' }).shardCount).toBe(1);
    expect(readConfig({ SHARD_COUNT: '4096' }).shardCount).toBe(4096);
    expect(readConfig({ ALLOWED_LATENESS_SECONDS: '86400' }).allowedLatenessMs).toBe(86_400_000);
    expect(readConfig({ FLUSH_INTERVAL_SECONDS: '3600' }).flushIntervalMs).toBe(3_600_000);
    expect(readConfig({ MAX_EVENTS_PER_REQUEST: '100000' }).maxEventsPerRequest).toBe(100_000);
    expect(readConfig({ MAX_BODY_BYTES: '1024' }).maxBodyBytes).toBe(1024);
    expect(readConfig({ MAX_BODY_BYTES: String(100 * 1_048_576) }).maxBodyBytes).toBe(100 * 1_048_576);
    expect(readConfig({ MAX_FUTURE_SKEW_SECONDS: '0' }).maxFutureSkewMs).toBe(0);
    expect(readConfig({ MAX_FUTURE_SKEW_SECONDS: '86400' }).maxFutureSkewMs).toBe(86_400_000);
    expect(readConfig({ MAX_EVENT_AGE_SECONDS: '60' }).maxEventAgeMs).toBe(60_000);
    expect(readConfig({ MAX_EVENT_AGE_SECONDS: String(30 * 86_400) }).maxEventAgeMs).toBe(30 * 86_400_000);
  });

  it('throws with the variable name for non-numeric, non-integer and out-of-range values', () => {
    const cases: Array<[keyof ConfigVars, string]> = [
      ['SHARD_COUNT', 'abc'],
      ['SHARD_COUNT', '0'],
      ['SHARD_COUNT', '4097'],
      ['SHARD_COUNT', '2.5'],
      ['SHARD_COUNT', '-4'],
      ['SHARD_COUNT', 'NaN'],
      ['SHARD_COUNT', 'Infinity'],
      ['WINDOW_SECONDS', '0'],
      ['WINDOW_SECONDS', '61'],
      ['WINDOW_SECONDS', '120'],
      ['WINDOW_SECONDS', 'one'],
      ['ALLOWED_LATENESS_SECONDS', '-1'],
      ['ALLOWED_LATENESS_SECONDS', '86401'],
      ['FLUSH_INTERVAL_SECONDS', '0'],
      ['FLUSH_INTERVAL_SECONDS', '0.5'],
      ['MAX_EVENTS_PER_REQUEST', '0'],
      ['MAX_EVENTS_PER_REQUEST', '100001'],
      ['MAX_BODY_BYTES', '1023'],
      ['MAX_BODY_BYTES', String(100 * 1_048_576 + 1)],
      ['MAX_FUTURE_SKEW_SECONDS', '-1'],
      ['MAX_FUTURE_SKEW_SECONDS', '86401'],
      ['MAX_FUTURE_SKEW_SECONDS', '5m'],
      ['MAX_EVENT_AGE_SECONDS', '59'],
      ['MAX_EVENT_AGE_SECONDS', String(30 * 86_400 + 1)],
    ];
    for (const [name, value] of cases) {
      expect(() => readConfig({ [name]: value }), `${name}=${value}`).toThrow(name);
    }
  });

  it('requires WINDOW_SECONDS to divide 60', () => {
    for (const ok of [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]) {
      expect(readConfig({ WINDOW_SECONDS: String(ok) }).windowMs).toBe(ok * 1000);
    }
    for (const bad of [7, 8, 9, 11, 13, 25, 45, 59]) {
      expect(() => readConfig({ WINDOW_SECONDS: String(bad) }), String(bad)).toThrow(/WINDOW_SECONDS.*divide 60/);
    }
  });

  it('configOf parses an env once and returns the same settings', () => {
    const env = { SHARD_COUNT: '8', MAX_EVENT_AGE_SECONDS: '600' };
    const first = configOf(env);
    expect(first).toEqual(readConfig(env));
    expect(configOf(env)).toBe(first);
    expect(configOf({ SHARD_COUNT: '8' })).not.toBe(first);
  });
});
