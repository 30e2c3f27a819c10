/**
 * UUIDv7 (RFC 9562): time-ordered, so server-minted event ids sort by arrival
 * and index well in ClickHouse. Randomness from the platform's CSPRNG.
 */
export function uuidv7(nowMs: number = Date.now(), random: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  const time = Math.floor(nowMs);
  bytes[0] = Math.floor(time / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(time / 2 ** 32) & 0xff;
  bytes[2] = (time >>> 24) & 0xff;
  bytes[3] = (time >>> 16) & 0xff;
  bytes[4] = (time >>> 8) & 0xff;
  bytes[5] = time & 0xff;
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
