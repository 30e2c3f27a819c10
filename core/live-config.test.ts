import { describe, expect, it } from 'vitest';
import { MAX_RELAY_VIEWERS, parseLiveLimits, readLiveConfig } from './live-config.ts';

describe('live config', () => {
  it('defaults: 250 ms tick, 5,000 viewers per relay, 10-minute snapshots', () => {
    const config = readLiveConfig({});
    expect(config).toMatchObject({ tickMs: 250, limits: { relayMaxViewers: 5000, snapshotMinutes: 10, viewerQueueMax: 256, viewerSilenceSeconds: 120 }, tokenTtlSeconds: 300 });
    expect(config.combiners).toMatchObject({ shardCount: 16, fanIn: 16, combiners: 1 });
  });

  it('reads the vars and refuses out-of-range values loudly', () => {
    expect(readLiveConfig({ SHARD_COUNT: '256', LIVE_TICK_MS: '100', COMBINER_FANIN: '8' }).combiners).toMatchObject({ fanIn: 11, combiners: 24, rootRpcPerSecond: 240 });
    expect(() => readLiveConfig({ RELAY_MAX_VIEWERS: String(MAX_RELAY_VIEWERS + 1) })).toThrow(/RELAY_MAX_VIEWERS/);
    expect(() => readLiveConfig({ LIVE_TICK_MS: 'fast' })).toThrow(/LIVE_TICK_MS/);
    expect(readLiveConfig({ LIVE_VIEWER_SILENCE_SECONDS: '30' }).limits.viewerSilenceSeconds).toBe(30);
    expect(() => readLiveConfig({ LIVE_VIEWER_SILENCE_SECONDS: '1' })).toThrow(/LIVE_VIEWER_SILENCE_SECONDS/);
  });

  it('validates per-project overrides', () => {
    const base = readLiveConfig({}).limits;
    expect(parseLiveLimits({ relayMaxViewers: 2 }, base)).toEqual({ ok: true, limits: { ...base, relayMaxViewers: 2 } });
    expect(parseLiveLimits({ relayMaxViewers: 0 }, base).ok).toBe(false);
    expect(parseLiveLimits({ viewerSilenceSeconds: 5 }, base)).toEqual({ ok: true, limits: { ...base, viewerSilenceSeconds: 5 } });
    expect(parseLiveLimits({ viewerSilenceSeconds: 4 }, base).ok).toBe(false);
    expect(parseLiveLimits({ tickMs: 5 }, base).ok).toBe(false);
    expect(parseLiveLimits('x', base).ok).toBe(false);
  });
});
