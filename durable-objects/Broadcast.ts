import { DurableObject } from 'cloudflare:workers';
import { parseDimensionsKey } from '../core/dimensions.ts';
import { isPlainObject } from '../core/events.ts';
import { parseClientMessage, type LiveDelta, type PartialAggregate, type ShardPartials } from '../core/protocol.ts';
import { readConfig } from '../core/config.ts';
import { shardObjectName } from '../core/shard.ts';
import { parseTopic, topicMatches, type Topic } from '../core/topics.ts';

const MINUTE_MS = 60_000;
/** Minutes of live totals kept in memory; shards re-push if this object is evicted. */
const RETENTION_MS = 60 * MINUTE_MS;
const MAX_TOPICS_PER_VIEWER = 64;

/** Per-socket state lives in the attachment so it survives hibernation. */
interface ViewerAttachment {
  topics: string[];
}

interface PaneGroup {
  eventType: string;
  dimensions: Record<string, string>;
  /** Absolute partial totals per shard: a re-sent push overwrites, never double counts. */
  byShard: Map<number, { events: number; valueSum: number }>;
}

/**
 * One per project: merges the shards' partial aggregates and pushes each
 * subscribed topic's 1-minute value to viewers over hibernatable WebSockets.
 * No viewer ever causes a database query.
 */
export class Broadcast extends DurableObject<Env> {
  /** minute start -> (pane start, event type, dims key) -> group. */
  private readonly minutes = new Map<number, Map<string, PaneGroup>>();
  private readonly sequenceByTopic = new Map<string, number>();
  /** When the newest partial arrived (epoch ms): the freshness of everything this object serves. */
  private lastPublishAtMs: number | null = null;
  /** In-memory totals are lost on eviction; the first use after a start re-reads them from the shards. */
  private rebuild: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return Response.json({ error: { code: 'upgrade_required', message: 'Connect with a WebSocket.' } }, { status: 426 });
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    // acceptWebSocket (not server.accept()) lets this object hibernate between messages.
    this.ctx.acceptWebSocket(server);
    const attachment: ViewerAttachment = { topics: [] };
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Shard -> broadcast: merge partials and push the changed topics. */
  async publish(partials: ShardPartials): Promise<void> {
    this.lastPublishAtMs = Date.now();
    this.rememberProject(partials.projectId);
    await this.ensureRebuilt();
    const changedMinutes = this.merge(partials.shard, partials.groups);
    this.pruneOldMinutes(Date.now());
    for (const ws of this.ctx.getWebSockets()) {
      const topics = this.viewerTopics(ws);
      const deltas: LiveDelta[] = [];
      for (const topic of topics) {
        for (const [minuteStart, changed] of changedMinutes) {
          if (changed.some((group) => topicMatches(topic, group.eventType, group.dimensions))) {
            deltas.push(this.delta(topic, minuteStart));
          }
        }
      }
      if (deltas.length > 0) this.send(ws, deltas.length === 1 ? deltas[0] : deltas);
    }
  }

  /**
   * Partials are running totals that only grow, so the larger value is the
   * newer one: a late or repeated push can never lower a total.
   */
  private merge(shard: number, partials: readonly PartialAggregate[]): Map<number, PaneGroup[]> {
    const changedMinutes = new Map<number, PaneGroup[]>();
    for (const group of partials) {
      const minuteStart = group.windowStart - (group.windowStart % MINUTE_MS);
      let groups = this.minutes.get(minuteStart);
      if (!groups) {
        groups = new Map();
        this.minutes.set(minuteStart, groups);
      }
      const key = `${group.windowStart}\u0000${group.eventType}\u0000${group.dimsKey}`;
      let paneGroup = groups.get(key);
      if (!paneGroup) {
        paneGroup = { eventType: group.eventType, dimensions: parseDimensionsKey(group.dimsKey), byShard: new Map() };
        groups.set(key, paneGroup);
      }
      const previous = paneGroup.byShard.get(shard);
      if (previous !== undefined && previous.events >= group.events && previous.valueSum >= group.valueSum) continue;
      paneGroup.byShard.set(shard, {
        events: Math.max(previous?.events ?? 0, group.events),
        valueSum: Math.max(previous?.valueSum ?? 0, group.valueSum),
      });
      const changed = changedMinutes.get(minuteStart) ?? [];
      changed.push(paneGroup);
      changedMinutes.set(minuteStart, changed);
    }
    return changedMinutes;
  }

  private ensureRebuilt(): Promise<void> {
    this.rebuild ??= this.rebuildFromShards().catch((error: unknown) => {
      // Try again on the next use; live pushes keep flowing meanwhile.
      this.rebuild = null;
      console.warn('Broadcast rebuild from shards failed:', error instanceof Error ? error.message : error);
    });
    return this.rebuild;
  }

  private async rebuildFromShards(): Promise<void> {
    const projectId = this.projectId();
    if (projectId === null) return;
    const { shardCount } = readConfig(this.env);
    const since = Date.now() - RETENTION_MS;
    const totals = await Promise.all(
      Array.from({ length: shardCount }, (_, shard) =>
        this.env.SHARD_AGGREGATOR.get(this.env.SHARD_AGGREGATOR.idFromName(shardObjectName(projectId, shard))).liveTotals(since),
      ),
    );
    totals.forEach((groups, shard) => this.merge(shard, groups));
  }

  private rememberProject(projectId: string): void {
    if (this.projectId() === null) {
      this.ctx.storage.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', 'project_id', projectId);
    }
  }

  private projectId(): string | null {
    const row = this.ctx.storage.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', 'project_id').toArray()[0];
    return row?.value ?? null;
  }

  /**
   * Per-minute totals since `sinceMs` for an event type (null = all) and
   * dimension filters: the query API fills minutes not yet in ClickHouse from this.
   */
  async liveSeries(eventType: string | null, filters: Record<string, string>, sinceMs: number): Promise<Array<{ minuteStart: number; events: number; valueSum: number }>> {
    await this.ensureRebuilt();
    const series: Array<{ minuteStart: number; events: number; valueSum: number }> = [];
    for (const [minuteStart, groups] of this.minutes) {
      if (minuteStart < sinceMs) continue;
      let events = 0;
      let valueSum = 0;
      for (const group of groups.values()) {
        if (eventType !== null && group.eventType !== eventType) continue;
        if (!Object.entries(filters).every(([key, value]) => group.dimensions[key] === value)) continue;
        for (const partial of group.byShard.values()) {
          events += partial.events;
          valueSum += partial.valueSum;
        }
      }
      series.push({ minuteStart, events, valueSum });
    }
    return series;
  }

  /** Time of the newest data pushed to viewers; null if none since this object started. */
  async freshness(): Promise<{ lastPublishAtMs: number | null }> {
    return { lastPublishAtMs: this.lastPublishAtMs };
  }

  /** Event types and dimension names seen in the retained minutes. */
  async catalog(): Promise<{ eventTypes: string[]; dimensions: string[] }> {
    await this.ensureRebuilt();
    const eventTypes = new Set<string>();
    const dimensions = new Set<string>();
    for (const groups of this.minutes.values()) {
      for (const group of groups.values()) {
        eventTypes.add(group.eventType);
        for (const key of Object.keys(group.dimensions)) dimensions.add(key);
      }
    }
    return { eventTypes: [...eventTypes].sort(), dimensions: [...dimensions].sort() };
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const parsed = parseClientMessage(frame);
    if (!parsed.ok) {
      this.send(ws, { error: { code: parsed.code, message: parsed.message } });
      return;
    }
    const { action, topic: topicName } = parsed.message;
    const topic = parseTopic(topicName);
    if (!topic.ok) {
      this.send(ws, { error: { code: 'invalid_topic', message: topic.message } });
      return;
    }
    const attachment = this.attachment(ws);
    if (action === 'unsubscribe') {
      attachment.topics = attachment.topics.filter((name) => name !== topicName);
      ws.serializeAttachment(attachment);
      this.send(ws, { type: 'unsubscribed', topic: topicName });
      return;
    }
    if (!attachment.topics.includes(topicName)) {
      if (attachment.topics.length >= MAX_TOPICS_PER_VIEWER) {
        this.send(ws, { error: { code: 'too_many_topics', message: `At most ${MAX_TOPICS_PER_VIEWER} topics per connection.` } });
        return;
      }
      attachment.topics.push(topicName);
      ws.serializeAttachment(attachment);
    }
    this.send(ws, { type: 'subscribed', topic: topicName });
    await this.ensureRebuilt();
    // The current minute's value right away, so a new viewer need not wait for traffic.
    const now = Date.now();
    this.send(ws, this.delta(topic.topic, now - (now % MINUTE_MS)));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Complete the close handshake, or clients see 1006. 1005/1006/1015 are reserved and may not be sent.
    if (code !== 1005 && code !== 1006 && code !== 1015) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closed.
      }
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn('Broadcast viewer socket error:', error instanceof Error ? error.message : error);
  }

  private delta(topic: Topic, minuteStart: number): LiveDelta {
    let value = 0;
    for (const group of this.minutes.get(minuteStart)?.values() ?? []) {
      if (!topicMatches(topic, group.eventType, group.dimensions)) continue;
      for (const partial of group.byShard.values()) value += topic.measure === 'metrics' ? partial.events : partial.valueSum;
    }
    const sequence = (this.sequenceByTopic.get(topic.name) ?? 0) + 1;
    this.sequenceByTopic.set(topic.name, sequence);
    return {
      topic: topic.name,
      windowStart: new Date(minuteStart).toISOString(),
      windowEnd: new Date(minuteStart + MINUTE_MS).toISOString(),
      value,
      timestamp: new Date().toISOString(),
      seq: sequence,
    };
  }

  private viewerTopics(ws: WebSocket): Topic[] {
    const topics: Topic[] = [];
    for (const name of this.attachment(ws).topics) {
      const parsed = parseTopic(name);
      if (parsed.ok) topics.push(parsed.topic);
    }
    return topics;
  }

  private attachment(ws: WebSocket): ViewerAttachment {
    const raw: unknown = ws.deserializeAttachment();
    if (isPlainObject(raw) && Array.isArray(raw.topics)) {
      return { topics: raw.topics.filter((topic): topic is string => typeof topic === 'string') };
    }
    return { topics: [] };
  }

  /** One bad socket must never break the broadcast to the others. */
  private send(ws: WebSocket, message: unknown): void {
    try {
      ws.send(JSON.stringify(message));
    } catch (error) {
      console.warn('Broadcast send failed:', error instanceof Error ? error.message : error);
    }
  }

  private pruneOldMinutes(now: number): void {
    for (const minuteStart of this.minutes.keys()) {
      if (minuteStart < now - RETENTION_MS) this.minutes.delete(minuteStart);
    }
  }
}
