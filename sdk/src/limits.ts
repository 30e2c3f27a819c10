/**
 * The server's bounds (core/limits.ts, README "API"), copied so the SDK ships
 * without the server's code; sdk/test/limits.test.ts fails if they drift.
 */
export const EVENT_TYPE_MAX_LENGTH = 64;
export const EVENT_ID_MAX_LENGTH = 128;
export const USER_ID_MAX_LENGTH = 256;
export const MAX_DIMENSIONS = 32;
export const DIMENSION_KEY_MAX_LENGTH = 64;
export const DIMENSION_VALUE_MAX_LENGTH = 256;
export const MAX_ABS_VALUE = 1e15;
export const MAX_EVENTS_PER_REQUEST = 1000;
export const MAX_BODY_BYTES = 1_048_576;
/** Browsers cap the bytes of all pending beacons at 64 KiB; leave room for the envelope. */
export const BEACON_MAX_BYTES = 64_000;
/**
 * The server deduplicates an eventId for 10 minutes (ShardAggregator's
 * DEDUP_HORIZON_MS); a retry later than that could count an event twice, so
 * retries stop short of it.
 */
export const RETRY_WINDOW_MS = 9 * 60_000;
