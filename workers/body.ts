import { decodeJsonBytes } from '../core/decode.ts';
import { ApiError } from './errors.ts';

/**
 * Reads a JSON request body within a byte limit, after gzip/deflate
 * decompression (the limit applies to the decompressed size, so a small
 * "zip bomb" cannot exhaust memory). `text/plain` is sniffed as JSON because
 * browsers' sendBeacon and CORS-free posts can only send that.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const contentType = (request.headers.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType !== '' && contentType !== 'application/json' && contentType !== 'text/plain') {
    throw new ApiError(415, 'unsupported_media_type', 'Send events as application/json (or text/plain JSON).');
  }
  const encoding = (request.headers.get('Content-Encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    throw new ApiError(415, 'unsupported_encoding', 'Content-Encoding must be gzip, deflate or none.');
  }
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  let stream = request.body;
  if (stream !== null && encoding !== 'identity') stream = stream.pipeThrough(new DecompressionStream(encoding));
  let bytes: Uint8Array;
  try {
    bytes = await readLimited(stream, maxBytes);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, 'malformed_body', `The request body could not be decoded as ${encoding}.`);
  }
  const decoded = decodeJsonBytes(bytes);
  if (!decoded.ok) throw new ApiError(400, decoded.code, decoded.message);
  return decoded.value;
}

async function readLimited(stream: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
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
  return new ApiError(413, 'payload_too_large', `The request body exceeds ${maxBytes} bytes (after decompression).`);
}
