/**
 * Canonical form of a dimension set: keys sorted, values URI-encoded, joined
 * as `k=v&k2=v2`. Two events with the same dimensions always land on the same
 * aggregate row, whatever order the client sent the keys in.
 */
export function dimensionsKey(dimensions: Readonly<Record<string, string>>): string {
  return Object.keys(dimensions)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(dimensions[key] ?? '')}`)
    .join('&');
}

/** Inverse of dimensionsKey. */
export function parseDimensionsKey(key: string): Record<string, string> {
  const dimensions: Record<string, string> = Object.create(null) as Record<string, string>;
  if (key === '') return dimensions;
  for (const part of key.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    dimensions[decodeURIComponent(part.slice(0, eq))] = decodeURIComponent(part.slice(eq + 1));
  }
  return dimensions;
}
