import { test } from 'vitest';
import assert from 'node:assert/strict';
import { MinuteSeries, parseDelta, MINUTE_MS } from './public/series.js';
import { readConfig, hrefWithMinutes } from './public/config.js';

const H = Date.UTC(2026, 5, 7, 10, 30);
const iso = (ms) => new Date(ms).toISOString();

test('snapshot fills the range, zero where missing, ignores outside', () => {
  const s = new MinuteSeries(5, H);
  s.applySnapshot([{ time: H - 4 * MINUTE_MS, value: 4 }, { time: H, value: 9 }, { time: H - 99 * MINUTE_MS, value: 1 }], H - 4 * MINUTE_MS, H + MINUTE_MS, 1000);
  assert.deepEqual(s.toChart().map((p) => p.value), [4, 0, 0, 0, 9]);
  assert.deepEqual(s.toChart().map((p) => p.partial), [false, false, false, false, true]);
  assert.deepEqual(s.total(), { sum: 13, unknown: 0 });
});

test('deltas set absolute values, append new windows, ignore stale seq / old / bogus', () => {
  const s = new MinuteSeries(3, H);
  assert.equal(s.applyDelta({ windowStartMs: H, value: 5, seq: 10 }, 1), 'applied');
  assert.equal(s.applyDelta({ windowStartMs: H, value: 7, seq: 11 }, 2), 'applied');
  assert.equal(s.valueAt(H), 7);
  assert.equal(s.applyDelta({ windowStartMs: H, value: 999, seq: 3 }, 3), 'stale-seq');
  assert.equal(s.valueAt(H), 7);
  assert.equal(s.applyDelta({ windowStartMs: H - 10 * MINUTE_MS, value: 1, seq: 12 }, 4), 'out-of-range');
  assert.equal(s.applyDelta({ windowStartMs: H + 30_000, value: 1, seq: 13 }, 4), 'invalid');
  assert.equal(s.applyDelta({ windowStartMs: H + 60 * MINUTE_MS, value: 1, seq: 14 }, 4), 'future');
  // A new window shifts the chart; the window in between was live-covered, so 0.
  assert.equal(s.applyDelta({ windowStartMs: H + 2 * MINUTE_MS, value: 3, seq: 15 }, 5), 'applied');
  assert.equal(s.headMs, H + 2 * MINUTE_MS);
  assert.deepEqual(s.toChart().map((p) => p.value), [7, 0, 3]);
  // A restarted server counter opening a newer window is accepted.
  assert.equal(s.applyDelta({ windowStartMs: H + 3 * MINUTE_MS, value: 2, seq: 1 }, 6), 'applied');
  assert.equal(s.applyDelta({ windowStartMs: H + 3 * MINUTE_MS, value: 4, seq: 2 }, 7), 'applied');
  assert.equal(s.valueAt(H + 3 * MINUTE_MS), 4);
});

test('live values newer than the snapshot request survive it; older ones are replaced', () => {
  const s = new MinuteSeries(4, H);
  s.applyDelta({ windowStartMs: H - 2 * MINUTE_MS, value: 50, seq: null }, 100); // before request, old window
  s.applyDelta({ windowStartMs: H - MINUTE_MS, value: 70, seq: null }, 100); // before request, maybe unflushed
  s.applyDelta({ windowStartMs: H, value: 20, seq: null }, 300); // after request
  s.applySnapshot([{ time: H - 2 * MINUTE_MS, value: 40 }, { time: H - MINUTE_MS, value: 10 }, { time: H, value: 5 }], H - 3 * MINUTE_MS, H + MINUTE_MS, 200);
  // The store is authoritative for old windows, but lags (unflushed) for the newest two.
  assert.deepEqual(s.toChart().map((p) => p.value), [0, 40, 70, 20]);
  s.applySnapshot([{ time: H - MINUTE_MS, value: 90 }], H - 3 * MINUTE_MS, H + MINUTE_MS, 400);
  assert.deepEqual(s.toChart().map((p) => p.value), [0, 0, 90, 20]);
});

test('seq: small reorders are dropped, a restarted counter is followed', () => {
  const s = new MinuteSeries(3, H);
  assert.equal(s.applyDelta({ windowStartMs: H, value: 10, seq: 500 }, 1), 'applied');
  assert.equal(s.applyDelta({ windowStartMs: H, value: 9, seq: 498 }, 2), 'stale-seq');
  assert.equal(s.applyDelta({ windowStartMs: H, value: 3, seq: 1 }, 3), 'applied');
  assert.equal(s.applyDelta({ windowStartMs: H, value: 4, seq: 2 }, 4), 'applied');
  assert.equal(s.valueAt(H), 4);
});

test('advancing while disconnected leaves unknown gaps', () => {
  const s = new MinuteSeries(3, H);
  s.applySnapshot([], H - 2 * MINUTE_MS, H + MINUTE_MS, 1);
  s.advanceTo(H + MINUTE_MS, false, 2);
  assert.deepEqual(s.toChart().map((p) => p.value), [0, 0, null]);
  assert.deepEqual(s.total(), { sum: 0, unknown: 1 });
  s.advanceTo(H + 2 * MINUTE_MS, true, 3);
  assert.deepEqual(s.toChart().map((p) => p.value), [0, null, 0]);
});

test('parseDelta validates and tolerates unknown fields', () => {
  const d = parseDelta({ topic: 'metrics:x', windowStart: iso(H), windowEnd: iso(H + MINUTE_MS), value: 3, timestamp: iso(H + 5), seq: 7, extra: { a: 1 } });
  assert.deepEqual(d, { topic: 'metrics:x', windowStartMs: H, value: 3, seq: 7, timestampMs: H + 5 });
  assert.equal(parseDelta({ topic: 'metrics:x', windowStart: iso(H), windowEnd: iso(H + 10_000), value: 3 }), null);
  assert.equal(parseDelta({ topic: 'metrics:x', windowStart: 'nope', value: 3 }), null);
  assert.equal(parseDelta({ topic: 'metrics:x', windowStart: iso(H), value: '3' }), null);
  assert.equal(parseDelta([1]), null);
  assert.equal(parseDelta({ topic: 'metrics:x', windowStart: iso(H), value: 1 }).seq, null);
});

test('readConfig', () => {
  assert.deepEqual(readConfig(''), { key: null, eventTypes: null, ignoredEventTypes: [], minutes: 30 });
  assert.deepEqual(readConfig('?key=rk_1&eventTypes=a,b,,a, c ,bad type&minutes=2'), {
    key: 'rk_1', eventTypes: ['a', 'b', 'c'], ignoredEventTypes: ['bad type'], minutes: 5,
  });
  assert.equal(readConfig('?minutes=99999').minutes, 1440);
  assert.equal(readConfig('?minutes=abc').minutes, 30);
  assert.equal(hrefWithMinutes('http://h/?key=k&minutes=30', 60), '/?key=k&minutes=60');
});
