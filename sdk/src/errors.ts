import type { EdgepulseEvent } from './types.ts';

/**
 * Thrown by `createClient` / `track` (invalid_options, invalid_event, closed);
 * passed to `onError` for everything that happens after `track` returned.
 */
export type ErrorCode =
  | 'invalid_options'
  | 'invalid_event'
  | 'closed'
  | 'queue_overflow'
  | 'rejected'
  | 'request_failed'
  | 'retries_exhausted'
  | 'beacon_failed';

/** Why the server refused one event of an accepted request. */
export interface EventRejection {
  eventId: string;
  code: string;
  message: string;
}

export class EdgepulseError extends Error {
  // `declare`: plain assignments in the constructor, no class-field helper in the bundle.
  declare readonly code: ErrorCode;
  /** The events this error means were not (or may not have been) counted. */
  declare readonly events: readonly EdgepulseEvent[];
  /** HTTP status of the last response, when there was one. */
  declare readonly status: number | undefined;
  /** For `rejected`: the server's reason per event. */
  declare readonly rejections: readonly EventRejection[];

  constructor(
    code: ErrorCode,
    message: string,
    details: { events?: readonly EdgepulseEvent[]; status?: number; rejections?: readonly EventRejection[] } = {},
  ) {
    super(message);
    this.name = 'EdgepulseError';
    this.code = code;
    this.events = details.events ?? [];
    this.status = details.status;
    this.rejections = details.rejections ?? [];
  }
}
