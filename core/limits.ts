/** Bounds enforced at the ingestion boundary; every one is a guard against abuse. */
export const EVENT_TYPE_MAX_LENGTH = 64;
export const EVENT_ID_MAX_LENGTH = 128;
export const USER_ID_MAX_LENGTH = 256;
export const MAX_DIMENSIONS = 32;
export const DIMENSION_KEY_MAX_LENGTH = 64;
export const DIMENSION_VALUE_MAX_LENGTH = 256;
/** Timestamps further ahead than this are client clock bugs, not events. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Older events cannot be attributed to a live window any more. */
export const DEFAULT_MAX_EVENT_AGE_MS = 7 * 24 * 3600_000;
