/** Bytes -> JSON value, as a typed result: never throws, whatever the input. */
export type DecodeResult = { ok: true; value: unknown } | { ok: false; code: 'empty_body' | 'invalid_utf8' | 'malformed_json'; message: string };

/** Stateless between calls (no `stream: true`), so one instance serves every request. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeJsonBytes(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength === 0) return { ok: false, code: 'empty_body', message: 'The request body is empty.' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, code: 'invalid_utf8', message: 'The request body is not valid UTF-8.' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // Also covers nesting too deep for the parser's stack.
    return { ok: false, code: 'malformed_json', message: 'The request body is not valid JSON.' };
  }
}
