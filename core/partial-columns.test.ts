import { describe, expect, it } from 'vitest';
import { columnsFor, columnsLength, columnsOf, emptyColumns, isPartialColumns, partialsOf, trimmedColumns } from './partial-columns.ts';

const groups = [
  { windowStart: 1_767_225_600_000, eventType: 'click', dimsKey: 'country=DE', events: 3, valueSum: 0.1 + 0.2 },
  { windowStart: 1_767_225_610_000, eventType: 'purchase', dimsKey: '', events: 1, valueSum: -19.99 },
];

describe('PartialColumns', () => {
  it('round-trips groups through columns, in order', () => {
    const columns = columnsOf(groups);
    expect(columnsLength(columns)).toBe(2);
    expect(partialsOf(columns)).toEqual(groups);
    expect(partialsOf(emptyColumns())).toEqual([]);
  });

  it('trims columns to the groups written, and returns them as they are when full', () => {
    const columns = columnsFor(3);
    columns.windowStarts[0] = 5;
    columns.eventTypes[0] = 'view';
    columns.events[0] = 2;
    const trimmed = trimmedColumns(columns, 1);
    expect(partialsOf(trimmed)).toEqual([{ windowStart: 5, eventType: 'view', dimsKey: '', events: 2, valueSum: 0 }]);
    expect(trimmedColumns(columns, 3)).toBe(columns);
  });

  it('accepts only five columns of one length with the right element types', () => {
    expect(isPartialColumns(columnsOf(groups))).toBe(true);
    expect(isPartialColumns(emptyColumns())).toBe(true);
    expect(isPartialColumns(null)).toBe(false);
    expect(isPartialColumns({ ...columnsOf(groups), events: [3, 1] })).toBe(false);
    expect(isPartialColumns({ ...columnsOf(groups), dimsKeys: ['a'] })).toBe(false);
    expect(isPartialColumns({ ...columnsOf(groups), eventTypes: ['click', 7] })).toBe(false);
    const { valueSums: _dropped, ...missing } = columnsOf(groups);
    expect(isPartialColumns(missing)).toBe(false);
  });
});
