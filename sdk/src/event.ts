import { EdgepulseError } from './errors.ts';
import {
  DIMENSION_KEY_MAX_LENGTH,
  DIMENSION_VALUE_MAX_LENGTH,
  EVENT_ID_MAX_LENGTH,
  EVENT_TYPE_MAX_LENGTH,
  MAX_ABS_VALUE,
  MAX_DIMENSIONS,
  USER_ID_MAX_LENGTH,
} from './limits.ts';
import type { DimensionValue, EdgepulseEvent, TrackOptions } from './types.ts';
import { uuidv7 } from './uuidv7.ts';

/** An event ready to send: serialized once, so retries and beacons re-send identical bytes. */
export interface QueuedEvent {
  event: EdgepulseEvent;
  json: string;
  /** UTF-8 length of `json`, for the request and beacon size limits. */
  bytes: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];
const encoder = new TextEncoder();

/**
 * Validates like the server (core/events.ts) so a bad event fails in the
 * caller's stack trace instead of as a rejection seconds later.
 */
export function prepareEvent(eventType: string, options: TrackOptions = {}): QueuedEvent {
  if (typeof eventType !== 'string' || eventType.length > EVENT_TYPE_MAX_LENGTH || !IDENTIFIER.test(eventType)) {
    invalid(`eventType must be 1..${EVENT_TYPE_MAX_LENGTH} characters of letters, digits, '_', '.', '-', not starting with a digit, '.' or '-'`);
  }
  const { value, userId, dimensions } = options;
  const eventId = options.eventId ?? uuidv7();
  checkText('eventId', eventId, EVENT_ID_MAX_LENGTH);

  const timestamp = options.timestamp === undefined ? Date.now() : +options.timestamp;
  if (!Number.isFinite(timestamp) || timestamp <= 0) invalid('timestamp must be epoch milliseconds or a valid Date');

  const event: EdgepulseEvent = { eventId, eventType, timestamp };
  if (value !== undefined) {
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_ABS_VALUE) {
      invalid(`value must be a finite number with magnitude at most ${MAX_ABS_VALUE}`);
    }
    event.value = value;
  }
  if (userId !== undefined) {
    checkText('userId', userId, USER_ID_MAX_LENGTH);
    event.userId = userId;
  }
  if (dimensions !== undefined) event.dimensions = checkDimensions(dimensions);

  const json = JSON.stringify(event);
  return { event, json, bytes: encoder.encode(json).length };
}

function checkDimensions(dimensions: Record<string, DimensionValue>): Record<string, DimensionValue> {
  if (typeof dimensions !== 'object' || dimensions === null || Array.isArray(dimensions)) invalid('dimensions must be an object');
  const entries = Object.entries(dimensions);
  if (entries.length > MAX_DIMENSIONS) invalid(`at most ${MAX_DIMENSIONS} dimensions per event`);
  // A copy: later changes to the caller's object must not change a queued event.
  const copy: Record<string, DimensionValue> = {};
  for (const [key, value] of entries) {
    if (key.length > DIMENSION_KEY_MAX_LENGTH || !IDENTIFIER.test(key) || FORBIDDEN_KEYS.includes(key)) {
      invalid(`dimension key "${key}" must be an identifier of at most ${DIMENSION_KEY_MAX_LENGTH} characters`);
    }
    if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
      invalid(`dimension "${key}" must be a string, finite number or boolean`);
    }
    checkText(`dimension "${key}"`, String(value), DIMENSION_VALUE_MAX_LENGTH, 0);
    copy[key] = value;
  }
  return copy;
}

function checkText(name: string, text: string, maxLength: number, minLength = 1): void {
  if (typeof text !== 'string' || text.length < minLength || text.length > maxLength) {
    invalid(`${name} must be a string of ${minLength}..${maxLength} characters`);
  }
  // The server refuses lone UTF-16 surrogates; encodeURIComponent is the portable detector.
  try {
    encodeURIComponent(text);
  } catch {
    invalid(`${name} contains a lone UTF-16 surrogate`);
  }
}

function invalid(message: string): never {
  throw new EdgepulseError('invalid_event', message);
}
