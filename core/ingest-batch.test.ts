import { describe, expect, it } from 'vitest';
import { readAggregationConfig } from './aggregation-config.ts';
import { compilePolicy, MemoryAdmittedValues } from './cardinality.ts';
import type { ValidEvent } from './events.ts';
import { collectBatch, isBot, newKeyCache, type CollectOptions } from './ingest-batch.ts';
import { PaneCache } from './pane-store.ts';

const NOW = Date.UTC(2026, 0, 1, 10, 0, 30);

function ev(overrides: Partial<ValidEvent> & Record<string, unknown> = {}): ValidEvent {
  return { eventId: crypto.randomUUID(), eventType: 'click', timestampMs: NOW, value: 1, userId: 'u1', dimensions: { country: 'DE' }, ...overrides };
}

function options(overrides: Partial<CollectOptions> = {}): CollectOptions {
  const seen = new Set<string>();
  return {
    config: readAggregationConfig({ RAW_EVENTS: '1' }),
    nowMs: NOW,
    identity: { projectId: 'p', shard: 2 },
    policy: compilePolicy({ declared: ['country', 'campaign'], maxValuesPerWindow: 1 }, 100),
    admitted: new MemoryAdmittedValues(),
    keys: newKeyCache(),
    markSeen: (id) => !seen.has(id) && Boolean(seen.add(id)),
    panes: new PaneCache(1000),
    ...overrides,
  };
}

describe('collectBatch', () => {
  it('skips duplicates, governs dimensions, separates bots and counts everything', () => {
    const panes = new PaneCache(1000);
    const dup = ev({ eventId: 'same' });
    const batch = collectBatch(
      [
        dup,
        ev({ eventId: 'same' }),
        ev({ dimensions: { country: 'US', path: '/x' } }),
        ev({ bot: true, userId: null, eventId: 'bot-1' }),
        ev({ timestampMs: NOW - 3 * 60_000 }),
      ],
      4,
      options({ panes }),
    );
    expect(batch.counters).toEqual({ accepted: 4, duplicates: 1, late: 1, bots: 1, foldedEvents: 1, droppedDimensionEvents: 1, rejectedTooOld: 4 });
    expect(batch.governance.map((g) => [g.reason, g.dimension, g.events]).sort()).toEqual([
      ['folded', 'country', 1],
      ['too_old', '', 4],
      ['undeclared', 'path', 1],
    ]);
    const raw = [...batch.raw.values()].flat();
    expect(raw).toHaveLength(4);
    const folded = raw.find((row) => row.dims.country === 'US');
    // Raw rows keep the value as sent (minus undeclared dims) and the key the event was counted under.
    expect(folded).toMatchObject({ dims: { country: 'US' }, dims_key: 'country=__other__', project_id: 'p', shard: 2 });
    expect(raw.find((row) => row.event_id === 'bot-1')).toMatchObject({ bot: 1, user_id: 'bot-1' });
    expect(raw.filter((row) => row.late === 1)).toHaveLength(1);
    expect(batch.maxEventTimeMs).toBe(NOW);
    // One row per (pane, type, governed dims): the duplicate is not in it, the bot counts apart.
    expect(panes.applyBatch().newlyUnsealed).toBe(3);
    const rows = panes.dirtyRows().map((r) => [r.pane_start, r.dims_key, r.events, r.bot_events, r.late_events]).sort();
    expect(rows).toEqual([
      [NOW - 3 * 60_000, 'country=DE', 1, 0, 1],
      [NOW, 'country=DE', 1, 1, 0],
      [NOW, 'country=__other__', 1, 0, 0],
    ]);
  });

  it('writes no raw rows unless RAW_EVENTS=1', () => {
    const batch = collectBatch([ev()], undefined, options({ config: readAggregationConfig({}) }));
    expect(batch.raw.size).toBe(0);
    expect(batch.counters.rejectedTooOld).toBe(0);
  });

  it('reads the bot flag only when it is exactly true', () => {
    expect(isBot(ev({ bot: true }))).toBe(true);
    expect(isBot(ev({ bot: 'yes' }))).toBe(false);
    expect(isBot(ev())).toBe(false);
  });
});
