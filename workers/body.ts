import { ApiError } from './errors.ts';

/**
 * Reads a JSON request body within a byte limit. `text/plain` is sniffed as
 * JSON because browsers' sendBeacon and CORS-free posts can only send that.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const contentType = (request.headers.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType !== '' && contentType !== 'application/json' && contentType !== 'text/plain') {
    throw new ApiError(415, 'unsupported_media_type', 'Send events as application/json (or text/plain JSON).');
  }
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readLimited(request, maxBytes);
  if (bytes.byteLength === 0) throw new ApiError(400, 'empty_body', 'The request body is empty.');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, 'invalid_utf8', 'The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'malformed_json', 'The request body is not valid JSON.');
  }
}

async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `The request body exceeds ${maxBytes} bytes.`);
}
