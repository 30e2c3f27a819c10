/**
 * Where viewers go: a relay Durable Object near the viewer (a `locationHint`
 * from request.cf.continent), with room. The root keeps the relays' occupancy
 * and hands the edge short leases of free slots, so one root call routes many
 * viewers; the relay itself enforces its cap, so a stale lease can never
 * overfill it (the edge then asks again). Pure.
 */

/** Durable Object location hints (developers.cloudflare.com/durable-objects/reference/data-location). */
export const RELAY_HINTS = ['wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'oc', 'afr', 'me'] as const;
export type RelayHint = (typeof RELAY_HINTS)[number];

export function isRelayHint(value: unknown): value is RelayHint {
  return typeof value === 'string' && (RELAY_HINTS as readonly string[]).includes(value);
}

/** Countries of Asia served from the Middle East hint. */
const MIDDLE_EAST = new Set(['AE', 'BH', 'IL', 'IQ', 'IR', 'JO', 'KW', 'LB', 'OM', 'PS', 'QA', 'SA', 'SY', 'YE', 'TR', 'CY']);
/** Rough meridians splitting North America and Europe into west/east hints. */
const NORTH_AMERICA_SPLIT_LONGITUDE = -100;
const EUROPE_SPLIT_LONGITUDE = 20;

/** request.cf -> location hint; null when unknown (the runtime then places the relay near the first caller). */
export function relayHintFor(cf: unknown): RelayHint | null {
  if (typeof cf !== 'object' || cf === null) return null;
  const field = (name: string): unknown => (name in cf ? Reflect.get(cf, name) : undefined);
  const rawContinent = field('continent');
  const rawCountry = field('country');
  const rawLongitude = field('longitude');
  const continent = typeof rawContinent === 'string' ? rawContinent.toUpperCase() : null;
  const country = typeof rawCountry === 'string' ? rawCountry.toUpperCase() : null;
  const longitude = typeof rawLongitude === 'string' || typeof rawLongitude === 'number' ? Number(rawLongitude) : Number.NaN;
  switch (continent) {
    case 'NA':
      return Number.isFinite(longitude) && longitude < NORTH_AMERICA_SPLIT_LONGITUDE ? 'wnam' : 'enam';
    case 'SA':
      return 'sam';
    case 'EU':
      return Number.isFinite(longitude) && longitude >= EUROPE_SPLIT_LONGITUDE ? 'eeur' : 'weur';
    case 'AS':
      return country !== null && MIDDLE_EAST.has(country) ? 'me' : 'apac';
    case 'OC':
      return 'oc';
    case 'AF':
      return 'afr';
    default:
      return null;
  }
}

// ---------- assignment ----------

export interface RelayRecord {
  name: string;
  hint: RelayHint | null;
  /** Viewers the relay last reported. */
  viewers: number;
  /**
   * Leases handed to edges: each is the occupancy the relay may reach by it
   * (occupancy when leased + slots), until it expires. Occupancy is the
   * largest of these and the reported count, so a viewer that used a lease
   * and was then reported is not counted twice.
   */
  leases: Array<{ upTo: number; expiresAtMs: number }>;
}

export interface Assignment {
  relay: string;
  hint: RelayHint | null;
  slots: number;
  created: boolean;
}

/** How many slots one lease hands an edge isolate, and for how long. */
export const LEASE_SLOTS = 25;
export const LEASE_MS = 5000;

export function relayObjectName(projectId: string, hint: RelayHint | null, index: number): string {
  return `relay:${projectId}:${hint ?? 'any'}:${index}`;
}

export function occupancy(relay: RelayRecord, nowMs: number): number {
  return relay.leases.reduce((most, lease) => (lease.expiresAtMs > nowMs ? Math.max(most, lease.upTo) : most), relay.viewers);
}

export function freeSlots(relay: RelayRecord, capacity: number, nowMs: number): number {
  return Math.max(0, capacity - occupancy(relay, nowMs));
}

/**
 * Picks the first relay of the viewer's region with room (filling relays one
 * after another keeps the relay count near viewers / capacity), or names a
 * new one. Mutates `relays`: the chosen relay gets the lease.
 */
export function assignRelay(
  relays: RelayRecord[],
  input: { projectId: string; hint: RelayHint | null; capacity: number; nowMs: number; exclude?: readonly string[]; leaseSlots?: number },
): Assignment {
  const exclude = new Set(input.exclude ?? []);
  for (const relay of relays) relay.leases = relay.leases.filter((lease) => lease.expiresAtMs > input.nowMs);
  const regional = relays.filter((relay) => relay.hint === input.hint);
  let chosen = regional.find((relay) => !exclude.has(relay.name) && freeSlots(relay, input.capacity, input.nowMs) > 0);
  let created = false;
  if (chosen === undefined) {
    const taken = new Set(relays.map((relay) => relay.name));
    let index = 0;
    while (taken.has(relayObjectName(input.projectId, input.hint, index))) index++;
    chosen = { name: relayObjectName(input.projectId, input.hint, index), hint: input.hint, viewers: 0, leases: [] };
    relays.push(chosen);
    created = true;
  }
  const slots = Math.max(1, Math.min(input.leaseSlots ?? LEASE_SLOTS, freeSlots(chosen, input.capacity, input.nowMs)));
  chosen.leases.push({ upTo: occupancy(chosen, input.nowMs) + slots, expiresAtMs: input.nowMs + LEASE_MS });
  return { relay: chosen.name, hint: chosen.hint, slots, created };
}
