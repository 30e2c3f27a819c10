/**
 * RPC messages between the live fan-out objects (pure types):
 *
 *   ShardAggregator --publish(ShardPartials)--> Combiner   (at most one per live tick per shard)
 *   Combiner --combined(CombinedPartials)--> Broadcast (root), at most one per tick
 *   edge --assignRelay--> root;  relay --attachTopics / relayReport--> root
 *   root --deliver(RelayDelivery)--> LiveRelay, one per relay per tick
 */
import type { LiveLimits } from './live-config.ts';
import type { LiveDelta, PartialAggregate } from './protocol.ts';
import type { RelayHint } from './relay-placement.ts';
import type { TopicSnapshot } from './topic-book.ts';

/** A combiner's summed running totals of the panes that changed since its last push. */
export interface CombinedPartials {
  projectId: string;
  combiner: number;
  groups: PartialAggregate[];
}

export interface RelayAssignmentRequest {
  projectId: string;
  hint: RelayHint | null;
  /** Relays that just refused a viewer as full: the root counts them as full until they report. */
  full?: string[];
}

export interface RelayAssignment {
  relay: string;
  hint: RelayHint | null;
  /** Viewers the edge may route to this relay without asking again (within LEASE_MS). */
  slots: number;
  limits: LiveLimits;
  tickMs: number;
}

export interface AttachRequest {
  projectId: string;
  relay: string;
  topics: string[];
}

export interface AttachResult {
  snapshots: TopicSnapshot[];
  errors: Array<{ topic: string; message: string }>;
}

export interface RelayDelivery {
  projectId: string;
  relay: string;
  deltas: LiveDelta[];
}

export interface RelayDeliveryResult {
  /** Topics this relay no longer has viewers for: the root stops sending (and computing) them. */
  unwanted: string[];
  viewers: number;
}

export interface RelayReport {
  projectId: string;
  relay: string;
  viewers: number;
}

/** RPCs the root received since it started, by method. */
export interface RootInbound {
  combined: number;
  attachTopics: number;
  assignRelay: number;
  relayReport: number;
  liveSeries: number;
}

export interface LiveStats {
  projectId: string | null;
  epoch: number;
  limits: LiveLimits;
  combiners: number;
  topics: string[];
  relays: Array<{ name: string; hint: RelayHint | null; viewers: number; topics: string[] }>;
  inbound: RootInbound;
  /** `combined` RPCs by combiner index. */
  combinedByCombiner: number[];
}

/** A combiner's counters since it started. */
export interface CombinerStats {
  /** Shard pushes received (publish). */
  publishes: number;
  /** combined RPCs sent to the root (successful or not). */
  pushesToRoot: number;
  /** Settling checks run (one digest read per shard each). */
  settles: number;
  /** Shards re-read by settles because this combiner still lacked events of their previous digest. */
  settleRereads: number;
}
