/**
 * GET /v1/active-users parameters. Pure. The answer merges every shard's
 * sliding-window sketch (core/sliding.ts): users seen in the last
 * `lastSeconds`, from panes, including minutes ClickHouse does not have yet.
 */
import { MAX_SLIDING_SECONDS, type SlidingWindowQuery } from './sliding.ts';

export const DEFAULT_ACTIVE_SECONDS = 300;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$/;
const RESERVED = new Set(['lastSeconds', 'eventType', 'key']);
const MAX_FILTERS = 8;

export type ActiveUsersParse = { ok: true; query: Required<SlidingWindowQuery> } | { ok: false; code: string; message: string };

export function parseActiveUsersQuery(params: URLSearchParams): ActiveUsersParse {
  const rawSeconds = params.get('lastSeconds');
  const lastSeconds = rawSeconds === null ? DEFAULT_ACTIVE_SECONDS : /^\d{1,5}$/.test(rawSeconds) ? Number(rawSeconds) : Number.NaN;
  if (!Number.isInteger(lastSeconds) || lastSeconds < 1 || lastSeconds > MAX_SLIDING_SECONDS) {
    return { ok: false, code: 'invalid_last_seconds', message: `lastSeconds must be an integer in 1..${MAX_SLIDING_SECONDS}.` };
  }
  const eventType = params.get('eventType') ?? '*';
  if (eventType !== '*' && !IDENTIFIER.test(eventType)) return { ok: false, code: 'invalid_event_type', message: 'eventType must be an identifier of at most 64 characters.' };
  const filters: Record<string, string> = {};
  for (const [key, value] of params) {
    if (RESERVED.has(key)) continue;
    if (!IDENTIFIER.test(key) || key === '__proto__') return { ok: false, code: 'invalid_filter', message: `"${key.slice(0, 64)}" is not a valid dimension name.` };
    if (value.length > 256) return { ok: false, code: 'invalid_filter', message: `Filter value for "${key}" is longer than 256 characters.` };
    filters[key] = value;
  }
  if (Object.keys(filters).length > MAX_FILTERS) return { ok: false, code: 'too_many_filters', message: `At most ${MAX_FILTERS} dimension filters.` };
  return { ok: true, query: { lastSeconds, eventType, filters } };
}
