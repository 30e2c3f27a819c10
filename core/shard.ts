/**
 * Shard routing. Events of one user land on one shard so per-shard unique
 * counts partition users and can simply be added across shards.
 */

/** FNV-1a, 32-bit: tiny, fast, and stable across runtimes (routing must never change). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function shardFor(shardKey: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError('shardCount must be a positive integer');
  return fnv1a32(shardKey) % shardCount;
}

/** Name of the ShardAggregator Durable Object for (project, shard). */
export function shardObjectName(projectId: string, shard: number): string {
  return `${projectId}:shard:${shard}`;
}

/** Groups items by shard: one RPC per shard per request. */
export function groupByShard<T>(items: readonly T[], shardKey: (item: T) => string, shardCount: number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardFor(shardKey(item), shardCount);
    const group = groups.get(shard);
    if (group) group.push(item);
    else groups.set(shard, [item]);
  }
  return groups;
}
