/**
 * PartialColumns (core/protocol.ts): live groups column by column. A shard
 * builds them at each live push for every group changed since the last one;
 * as objects that was one allocation per group per push on the shard's
 * hottest path, as columns it is five arrays per push.
 */
import type { PartialAggregate, PartialColumns } from './protocol.ts';

export function emptyColumns(): PartialColumns {
  return { windowStarts: new Float64Array(0), eventTypes: [], dimsKeys: [], events: new Float64Array(0), valueSums: new Float64Array(0) };
}

/** Columns with room for `size` groups (entries past those written stay empty: see trimmedColumns). */
export function columnsFor(size: number): PartialColumns {
  return {
    windowStarts: new Float64Array(size),
    eventTypes: new Array<string>(size).fill(''),
    dimsKeys: new Array<string>(size).fill(''),
    events: new Float64Array(size),
    valueSums: new Float64Array(size),
  };
}

/** The first `length` groups of `columns` (the same object when that is all of them). */
export function trimmedColumns(columns: PartialColumns, length: number): PartialColumns {
  if (length === columns.windowStarts.length) return columns;
  return {
    windowStarts: columns.windowStarts.slice(0, length),
    eventTypes: columns.eventTypes.slice(0, length),
    dimsKeys: columns.dimsKeys.slice(0, length),
    events: columns.events.slice(0, length),
    valueSums: columns.valueSums.slice(0, length),
  };
}

export function columnsLength(columns: PartialColumns): number {
  return columns.windowStarts.length;
}

/** Writes one group as entry `at` of each column. */
export function putGroup(columns: PartialColumns, at: number, windowStart: number, eventType: string, dimsKey: string, events: number, valueSum: number): void {
  columns.windowStarts[at] = windowStart;
  columns.eventTypes[at] = eventType;
  columns.dimsKeys[at] = dimsKey;
  columns.events[at] = events;
  columns.valueSums[at] = valueSum;
}

export function columnsOf(groups: readonly PartialAggregate[]): PartialColumns {
  const columns = columnsFor(groups.length);
  groups.forEach((group, i) => putGroup(columns, i, group.windowStart, group.eventType, group.dimsKey, group.events, group.valueSum));
  return columns;
}

export function partialsOf(columns: PartialColumns): PartialAggregate[] {
  return Array.from({ length: columnsLength(columns) }, (_, i) => ({
    windowStart: columns.windowStarts[i] ?? 0,
    eventType: columns.eventTypes[i] ?? '',
    dimsKey: columns.dimsKeys[i] ?? '',
    events: columns.events[i] ?? 0,
    valueSum: columns.valueSums[i] ?? 0,
  }));
}

/** Whether `value` (from an RPC) has the shape of PartialColumns: five columns of one length, of the right types. */
export function isPartialColumns(value: unknown): value is PartialColumns {
  if (typeof value !== 'object' || value === null) return false;
  if (!('windowStarts' in value && 'eventTypes' in value && 'dimsKeys' in value && 'events' in value && 'valueSums' in value)) return false;
  const { windowStarts, eventTypes, dimsKeys, events, valueSums } = value;
  if (!(windowStarts instanceof Float64Array) || !(events instanceof Float64Array) || !(valueSums instanceof Float64Array)) return false;
  if (!Array.isArray(eventTypes) || !Array.isArray(dimsKeys)) return false;
  const length = windowStarts.length;
  if (events.length !== length || valueSums.length !== length || eventTypes.length !== length || dimsKeys.length !== length) return false;
  return eventTypes.every((type) => typeof type === 'string') && dimsKeys.every((key) => typeof key === 'string');
}
