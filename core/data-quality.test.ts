import { describe, expect, it } from 'vitest';
import { buildQuality, parseDataQualityQuery, QUALITY_GOVERNANCE_SQL, QUALITY_ROLLUP_SQL } from './data-quality.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 30, 15);

describe('parseDataQualityQuery', () => {
  it('defaults to the last hour, floors start to a minute, and refuses bad ranges and unknown parameters', () => {
    expect(parseDataQualityQuery(new URLSearchParams(), NOW)).toEqual({ ok: true, query: { startMs: Date.UTC(2026, 11, 3, 11, 30), endMs: NOW } });
    expect(parseDataQualityQuery(new URLSearchParams({ start: 'x' }), NOW)).toMatchObject({ ok: false, code: 'invalid_start' });
    expect(parseDataQualityQuery(new URLSearchParams({ start: String(NOW), end: String(NOW - 1) }), NOW)).toMatchObject({ ok: false, code: 'invalid_range' });
    expect(parseDataQualityQuery(new URLSearchParams({ start: String(NOW - 8 * 86_400_000) }), NOW)).toMatchObject({ ok: false, code: 'range_too_large' });
    expect(parseDataQualityQuery(new URLSearchParams({ project: 'other' }), NOW)).toMatchObject({ ok: false, code: 'unknown_parameter' });
  });

  it('interpolates no value into its SQL: only typed parameters', () => {
    for (const sql of [QUALITY_ROLLUP_SQL, QUALITY_GOVERNANCE_SQL]) {
      expect(sql).toContain('{projectId:String}');
      expect(sql).not.toMatch(/'\d/);
    }
  });
});

describe('buildQuality', () => {
  it('joins rollup and governance rows per window, sorted, with totals', () => {
    const t1 = 1_780_000_020;
    const t0 = t1 - 60;
    const { windows, totals } = buildQuality(
      [
        { t: t1, events: '5', late: '2', bots: '1' },
        { t: t0, events: '3', late: '0', bots: '0' },
      ],
      [
        { t: t1, reason: 'folded', dimension: 'country', events: '4' },
        { t: t1, reason: 'undeclared', dimension: 'path', events: '1' },
        { t: t0, reason: 'too_old', dimension: '', events: '7' },
        { t: t0, reason: 'folded', dimension: 'country', events: '0' },
      ],
    );
    expect(windows).toEqual([
      { time: new Date(t0 * 1000).toISOString(), events: 3, lateEvents: 0, botEvents: 0, tooOldEvents: 7, folded: {}, undeclared: {} },
      { time: new Date(t1 * 1000).toISOString(), events: 5, lateEvents: 2, botEvents: 1, tooOldEvents: 0, folded: { country: 4 }, undeclared: { path: 1 } },
    ]);
    expect(totals).toEqual({ events: 8, lateEvents: 2, botEvents: 1, tooOldEvents: 7, foldedEvents: 4, undeclaredEvents: 1 });
  });
});
