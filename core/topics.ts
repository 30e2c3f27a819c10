/**
 * Live topics (seed 003): `metrics:<eventType>[:<dim>:<value>...]` counts
 * events, `value_sum:<eventType>[...]` sums their values. `*` as the event
 * type means every type. Parts are percent-decoded so values may contain ':'.
 */
export type TopicMeasure = 'metrics' | 'value_sum';

export interface Topic {
  /** The topic string as the client sent it; deltas echo it back. */
  name: string;
  measure: TopicMeasure;
  eventType: string;
  filters: ReadonlyArray<readonly [key: string, value: string]>;
}

export const TOPIC_MAX_LENGTH = 512;
const MAX_TOPIC_FILTERS = 8;

export type TopicParse = { ok: true; topic: Topic } | { ok: false; message: string };

export function parseTopic(name: unknown): TopicParse {
  if (typeof name !== 'string' || name.length === 0) return { ok: false, message: 'topic must be a non-empty string.' };
  if (name.length > TOPIC_MAX_LENGTH) return { ok: false, message: `topic is longer than ${TOPIC_MAX_LENGTH} characters.` };
  const parts = name.split(':');
  const [measure, rawEventType, ...rest] = parts;
  if (measure !== 'metrics' && measure !== 'value_sum') {
    return { ok: false, message: 'topic must start with "metrics:" or "value_sum:".' };
  }
  if (rawEventType === undefined || rawEventType === '') return { ok: false, message: 'topic needs an event type.' };
  if (rest.length % 2 !== 0) return { ok: false, message: 'topic filters must be <dimension>:<value> pairs.' };
  if (rest.length / 2 > MAX_TOPIC_FILTERS) return { ok: false, message: `a topic may filter on at most ${MAX_TOPIC_FILTERS} dimensions.` };
  const decoded = safeDecode([rawEventType, ...rest]);
  if (decoded === null) return { ok: false, message: 'topic contains invalid percent-encoding.' };
  const [eventType, ...filterParts] = decoded;
  const filters: Array<readonly [string, string]> = [];
  for (let i = 0; i < filterParts.length; i += 2) {
    const key = filterParts[i];
    const value = filterParts[i + 1];
    if (key === undefined || value === undefined || key === '') return { ok: false, message: 'empty dimension name in topic.' };
    filters.push([key, value]);
  }
  return { ok: true, topic: { name, measure, eventType: eventType ?? '', filters } };
}

export function topicMatches(topic: Topic, eventType: string, dimensions: Readonly<Record<string, string>>): boolean {
  if (topic.eventType !== '*' && topic.eventType !== eventType) return false;
  return topic.filters.every(([key, value]) => dimensions[key] === value);
}

function safeDecode(parts: string[]): string[] | null {
  try {
    return parts.map((part) => decodeURIComponent(part));
  } catch {
    return null;
  }
}
