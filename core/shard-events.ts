/**
 * The events a ShardAggregator receives, checked at the RPC boundary: the
 * edge validated them, but a shard trusts nothing it did not check itself (an
 * older edge, a test, an operator tool may call it), and a malformed event
 * must be refused before it reaches the ingest log it would poison on replay.
 */
import type { DimensionPolicy } from './cardinality.ts';
import { isPlainObject, type ValidEvent } from './events.ts';
import type { EnrichedEventFields } from './protocol.ts';

/** A validated event, with the enriching edge's fields when it sent them. */
export type ShardEvent = ValidEvent & EnrichedEventFields;

export type ShardEventsParse = { ok: true; events: ShardEvent[] } | { ok: false; message: string };

/** Checks an RPC's events (an array, or the JSON array string the edge sends). */
export function parseShardEvents(input: unknown): ShardEventsParse {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, message: 'eventsJson is not valid JSON' };
    }
  }
  if (!Array.isArray(value)) return { ok: false, message: 'events must be an array' };
  const events: ShardEvent[] = [];
  for (const item of value) {
    if (!isShardEvent(item)) return { ok: false, message: `event ${events.length}: ${eventProblem(item) ?? 'invalid'}` };
    events.push(item);
  }
  return { ok: true, events };
}

export function isShardEvent(value: unknown): value is ShardEvent {
  return eventProblem(value) === null;
}

function eventProblem(value: unknown): string | null {
  if (!isPlainObject(value)) return 'not an object';
  if (typeof value.eventId !== 'string' || value.eventId.length === 0) return 'eventId must be a non-empty string';
  if (typeof value.eventType !== 'string' || value.eventType.length === 0) return 'eventType must be a non-empty string';
  if (typeof value.timestampMs !== 'number' || !Number.isFinite(value.timestampMs)) return 'timestampMs must be a finite number';
  if (typeof value.value !== 'number' || !Number.isFinite(value.value)) return 'value must be a finite number';
  if (value.userId !== null && typeof value.userId !== 'string') return 'userId must be a string or null';
  if (!isPlainObject(value.dimensions)) return 'dimensions must be an object';
  for (const key in value.dimensions) if (typeof value.dimensions[key] !== 'string') return `dimension ${key} must be a string`;
  if (value.bot !== undefined && typeof value.bot !== 'boolean') return 'bot must be a boolean';
  if (value.receivedAtMs !== undefined && (typeof value.receivedAtMs !== 'number' || !Number.isFinite(value.receivedAtMs))) {
    return 'receivedAtMs must be a finite number';
  }
  if (value.geo !== undefined) return geoProblem(value.geo);
  return null;
}

const MAX_GEO_CHARS = 128;

function geoProblem(geo: unknown): string | null {
  if (!isPlainObject(geo)) return 'geo must be an object';
  for (const key of ['city', 'colo', 'timezone'] as const) {
    const value = geo[key];
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_GEO_CHARS)) return `geo.${key} must be a string of at most ${MAX_GEO_CHARS} chars`;
  }
  if (geo.asn !== undefined && !(typeof geo.asn === 'number' && Number.isInteger(geo.asn) && geo.asn >= 0 && geo.asn <= 0xffffffff)) {
    return 'geo.asn must be an integer in [0, 2^32)';
  }
  return null;
}

export type DimensionPolicyParse = { ok: true; policy: DimensionPolicy | undefined } | { ok: false; message: string };

/** A call's dimension policy (undefined or null: every dimension, the default K). */
export function parseDimensionPolicy(value: unknown): DimensionPolicyParse {
  if (value === undefined || value === null) return { ok: true, policy: undefined };
  if (!isPlainObject(value)) return { ok: false, message: 'dimensionPolicy must be an object' };
  const { declared, maxValuesPerWindow } = value;
  if (declared !== null && !(Array.isArray(declared) && declared.every((name) => typeof name === 'string'))) {
    return { ok: false, message: 'dimensionPolicy.declared must be null or an array of strings' };
  }
  if (maxValuesPerWindow !== undefined && !(typeof maxValuesPerWindow === 'number' && Number.isInteger(maxValuesPerWindow) && maxValuesPerWindow >= 1)) {
    return { ok: false, message: 'dimensionPolicy.maxValuesPerWindow must be a positive integer' };
  }
  const names: string[] | null = declared === null ? null : declared.filter((name): name is string => typeof name === 'string');
  return { ok: true, policy: maxValuesPerWindow === undefined ? { declared: names } : { declared: names, maxValuesPerWindow } };
}

/** parseDimensionPolicy of a stored JSON text (null: none). */
export function parseStoredDimensionPolicy(json: string | null): DimensionPolicyParse {
  if (json === null) return { ok: true, policy: undefined };
  try {
    return parseDimensionPolicy(JSON.parse(json));
  } catch {
    return { ok: false, message: 'stored dimensionPolicy is not valid JSON' };
  }
}
