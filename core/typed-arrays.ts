/** Growing typed arrays (pure, no runtime imports). */

/** A zero-extended copy of `values` with room for `length` entries: the size doubles (from at least 16), so growth is amortized. */
export function grownInt32(values: Int32Array, length: number): Int32Array<ArrayBuffer> {
  let size = Math.max(16, values.length);
  while (size < length) size *= 2;
  const out = new Int32Array(size);
  out.set(values);
  return out;
}

/**
 * A list of int32s (row numbers) that keeps its memory when emptied: a JS
 * array set to length 0 gives its store back, and regrowing it per batch was
 * garbage the collector had to chase.
 */
export class Int32List {
  items: Int32Array = new Int32Array(16);
  length = 0;

  push(value: number): void {
    if (this.length >= this.items.length) this.items = grownInt32(this.items, this.length + 1);
    this.items[this.length++] = value;
  }

  clear(): void {
    this.length = 0;
  }

  toArray(): number[] {
    return Array.from(this.items.subarray(0, this.length));
  }
}
