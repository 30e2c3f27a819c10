/**
 * Live topic names: `metrics:<eventType|*>[:<dim>:<value>...]` (counts) and
 * `value_sum:...` (sums). Parts are percent-encoded; dimensions are sorted so
 * one view always produces the same string (the server echoes it verbatim).
 */
export type TopicMeasure = 'metrics' | 'value_sum';

export function topicName(measure: TopicMeasure, eventType: string | null, dims: Readonly<Record<string, string>>): string {
  const parts: string[] = [measure, eventType === null ? '*' : encodeURIComponent(eventType)];
  for (const key of Object.keys(dims).sort()) {
    const value = dims[key];
    if (value === undefined) continue;
    parts.push(encodeURIComponent(key), encodeURIComponent(value));
  }
  return parts.join(':');
}
