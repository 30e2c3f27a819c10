import type { FetchInit, FetchLike } from '../src/index.ts';

export interface RecordedRequest {
  url: string;
  init: FetchInit;
  eventIds: string[];
}

/** Answers request n (0-based) with `respond(n, request)`; throwing or rejecting simulates a network error. */
export function fakeFetch(respond: (call: number, request: RecordedRequest) => Response | Promise<Response>): {
  fetch: FetchLike;
  requests: RecordedRequest[];
} {
  const requests: RecordedRequest[] = [];
  const fetch: FetchLike = async (url, init) => {
    const request = { url, init, eventIds: eventIdsOf(init.body) };
    requests.push(request);
    return respond(requests.length - 1, request);
  };
  return { fetch, requests };
}

export function eventsOf(body: string): Record<string, unknown>[] {
  const parsed: unknown = JSON.parse(body);
  if (!isRecord(parsed) || !Array.isArray(parsed.events)) throw new Error(`not an events batch: ${body}`);
  const events: unknown[] = parsed.events;
  return events.map((event) => {
    if (!isRecord(event)) throw new Error(`not an event: ${JSON.stringify(event)}`);
    return event;
  });
}

export function eventIdsOf(body: string): string[] {
  return eventsOf(body).map((event) => String(event.eventId));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function accepted(count = 0): Response {
  return Response.json({ status: 'ACCEPTED', receivedAt: new Date().toISOString(), accepted: count, duplicates: 0, rejected: [] }, { status: 202 });
}

export function errorResponse(status: number, code: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Response {
  return Response.json({ error: { code, message: `${code} happened` }, ...extra }, { status, headers });
}

/** Settles the promise chains started by fake-timer callbacks and fetch answers. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 100; i++) await Promise.resolve();
}
