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
  const lengthHeader = request.headers.get('Content-Length');
  const declared = lengthHeader === null ? null : Number(lengthHeader);
  if (declared !== null && declared > maxBytes) throw tooLarge(maxBytes);
  let bytes: Uint8Array;
  try {
    if (encoding === 'identity' && declared !== null && Number.isSafeInteger(declared)) {
      // Framing bounds a body with a Content-Length to that length: read it in one
      // native call (a chunk loop in JS costs more than parsing the JSON). Checked anyway.
      bytes = new Uint8Array(await request.arrayBuffer());
      if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
    } else {
      let stream = request.body;
      if (stream !== null && encoding !== 'identity') stream = stream.pipeThrough(new DecompressionStream(encoding));
      bytes = await readLimited(stream, maxBytes);
    }
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
