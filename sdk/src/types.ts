export type DimensionValue = string | number | boolean;

/** An event as sent on the wire (`POST /v1/events`). */
export interface EdgepulseEvent {
  eventId: string;
  eventType: string;
  /** Epoch milliseconds. */
  timestamp: number;
  value?: number;
  userId?: string;
  dimensions?: Record<string, DimensionValue>;
}

export interface TrackOptions {
  value?: number;
  userId?: string;
  dimensions?: Record<string, DimensionValue>;
  /** Epoch milliseconds or a Date; defaults to now. */
  timestamp?: number | Date;
  /** Defaults to a fresh UUIDv7; pass your own to make a re-sent event count once. */
  eventId?: string;
}

/** The subset of a fetch Response the client reads. */
export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface FetchInit {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** Global `fetch`, a Workers service binding's `fetch`, or a test double. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;
