/** Growing typed arrays (pure, no runtime imports). */

/** A zero-extended copy of `values` with room for `length` entries: the size doubles (from at least 16), so growth is amortized. */
export function grownInt32(values: Int32Array, length: number): Int32Array<ArrayBuffer> {
  let size = Math.max(16, values.length);
  while (size < length) size *= 2;
  const out = new Int32Array(size);
  out.set(values);
  return out;
}
