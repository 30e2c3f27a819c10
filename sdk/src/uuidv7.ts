let lastMs = -1;
let counter = 0;

/**
 * UUIDv7 (RFC 9562) minted on the client, so a retried event keeps its id and
 * the server's dedup counts it once. rand_a holds a 12-bit counter (RFC 9562
 * method 1): ids minted in one process sort in mint order, even within one
 * millisecond or when the clock steps back.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  if (nowMs > lastMs) {
    lastMs = Math.floor(nowMs);
    // A random start with the top bit clear leaves room for 2,048 ids this millisecond.
    counter = (((bytes[6] ?? 0) & 0x07) << 8) | (bytes[7] ?? 0);
  } else if (++counter > 0xfff) {
    // Counter exhausted: borrow the next millisecond rather than repeat or go backwards.
    lastMs++;
    counter = 0;
  }
  let time = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  let hex = '';
  for (const byte of bytes) hex += (byte + 256).toString(16).slice(1);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
