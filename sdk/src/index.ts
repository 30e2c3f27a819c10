export { createClient, type Client } from './client.ts';
export { EdgepulseError, type ErrorCode, type EventRejection } from './errors.ts';
export type { ClientOptions } from './options.ts';
export type { DimensionValue, EdgepulseEvent, FetchInit, FetchLike, FetchResponse, TrackOptions } from './types.ts';
export { uuidv7 } from './uuidv7.ts';
