/**
 * The canonical dimensions key of core/dimensions.ts (keys sorted, values
 * URI-encoded, `k=v&k2=v2`), byte for byte, without Object.keys/sort/map/join
 * and without encodeURIComponent for the common plain-ASCII case: it runs
 * once per event, and the generic version cost more than the rest of the
 * shard's per-event work together.
 */

/** Characters encodeURIComponent leaves alone: A-Z a-z 0-9 - _ . ! ~ * ' ( ) */
const PLAIN = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()") PLAIN[c.charCodeAt(0)] = 1;

function encode(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || PLAIN[c] === 0) return encodeURIComponent(text);
  }
  return text;
}

const keys: string[] = [];

export function fastDimensionsKey(dimensions: Readonly<Record<string, string>>): string {
  keys.length = 0;
  for (const key in dimensions) {
    // Insertion sort: events carry a handful of dimensions (at most 32).
    let i = keys.length;
    keys.push(key);
    while (i > 0 && (keys[i - 1] ?? '') > key) {
      keys[i] = keys[i - 1] ?? '';
      i--;
    }
    keys[i] = key;
  }
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] ?? '';
    if (i > 0) out += '&';
    out += `${encode(key)}=${encode(dimensions[key] ?? '')}`;
  }
  return out;
}
