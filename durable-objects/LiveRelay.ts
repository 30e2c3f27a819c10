import { DurableObject } from 'cloudflare:workers';
import type { RelayDelivery, RelayDeliveryResult } from '../core/live-rpc.ts';
import {
  errorFrame,
  frameOf,
  HEARTBEAT_REQUEST,
  HEARTBEAT_RESPONSE,
  LIVE_CLOSE,
  parseLiveClientMessage,
  serializeDelta,
  topicAllowed,
  type HelloMessage,
  type LiveClientMessage,
  type LiveErrorCode,
  type SubscribedMessage,
} from '../core/live-protocol.ts';
import {
  MessageBucket,
  newAttachment,
  parseAttachment,
  parseViewerParams,
  recordStrike,
  topicBudget,
  VIEWER_PARAMS_HEADER,
  type ViewerAttachment,
} from '../core/live-viewer.ts';
import type { LiveDelta } from '../core/protocol.ts';
import { RelayTopic } from '../core/relay-topics.ts';
import { Ticker } from '../core/ticker.ts';
import { parseTopic } from '../core/topics.ts';
import { ViewerQueue } from '../core/viewer-queue.ts';

/** Occupancy reports to the root, at most this often. */
const REPORT_INTERVAL_MS = 1000;

interface Viewer {
  ws: WebSocket;
  attachment: ViewerAttachment;
  queue: ViewerQueue;
  bucket: MessageBucket;
  /** When this object last heard from the viewer (any message; heartbeats are read from the runtime when needed). */
  lastHeardMs: number;
}

/** A delta serialized once per tick, spliced into every viewer's frame. */
interface Outgoing {
  delta: LiveDelta;
  json: string;
}

/**
 * Holds up to `capacity` viewers of one project near them (created with a
 * locationHint by the edge) and fans the root's deltas out to them.
 *
 * Hibernation: sockets are accepted with ctx.acceptWebSocket and every
 * per-viewer fact lives in the socket attachment, so the object can be evicted
 * between events and rebuild its indexes from ctx.getWebSockets() on wake;
 * heartbeats are answered by the runtime (setWebSocketAutoResponse) without
 * waking it. Topic states (minute values, seq, resume ring) are re-fetched
 * from the root after a wake. Every send is isolated per socket.
 */
export class LiveRelay extends DurableObject<Env> {
  private readonly viewers = new Map<WebSocket, Viewer>();
  private readonly topicViewers = new Map<string, Set<WebSocket>>();
  private readonly topics = new Map<string, RelayTopic>();
  private readonly attaching = new Map<string, Promise<RelayTopic | null>>();
  /** Deltas that arrived while their topic was being attached: applied after the snapshot. */
  private readonly buffered = new Map<string, LiveDelta[]>();
  private indexed = false;
  private identity: { projectId: string; relay: string } | null = null;
  private tickMs = 250;
  private readonly reporter: Ticker;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // The runtime answers the heartbeat itself: idle viewers never wake this object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE));
    this.reporter = new Ticker(REPORT_INTERVAL_MS, () => this.report(), undefined, (error) => {
      console.warn('LiveRelay occupancy report failed:', error instanceof Error ? error.message : error);
    });
  }

  /** The edge forwards the viewer's upgrade with VIEWER_PARAMS_HEADER, after auth and placement. */
  override async fetch(request: Request): Promise<Response> {
    const params = parseViewerParams(request.headers.get(VIEWER_PARAMS_HEADER));
    if (params === null) return errorResponse(400, 'bad_relay_request', 'Relays are reached through GET /v1/live only.');
    if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') return errorResponse(426, 'upgrade_required', 'Connect with a WebSocket.');
    this.index();
    this.identity ??= { projectId: params.projectId, relay: params.relay };
    this.tickMs = params.tickMs;
    // The relay enforces its own cap: an edge's lease may be stale. getWebSockets() also counts closing sockets.
    if (this.ctx.getWebSockets().length >= params.capacity) return errorResponse(503, 'relay_full', 'This relay is full.');
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const attachment = newAttachment(params);
    server.serializeAttachment(attachment);
    const viewer = this.track(server, attachment);
    const hello: HelloMessage = { type: 'hello', relay: params.relay, tickMs: params.tickMs, heartbeat: HEARTBEAT_REQUEST };
    if (params.ackWindow !== null) hello.ackWindow = params.ackWindow;
    this.sendJson(viewer, hello);
    this.reporter.request();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Root -> relay, once per tick: the deltas of this relay's topics. */
  async deliver(batch: RelayDelivery): Promise<RelayDeliveryResult> {
    this.identity ??= { projectId: batch.projectId, relay: batch.relay };
    this.index();
    const unwanted = new Set<string>();
    const accepted: LiveDelta[] = [];
    const gaps = new Set<string>();
    for (const delta of batch.deltas) {
      const watchers = this.topicViewers.get(delta.topic)?.size ?? 0;
      const state = this.topics.get(delta.topic);
      if (state === undefined) {
        if (watchers > 0 || this.attaching.has(delta.topic)) {
          // Viewers but no state: this object woke from hibernation. Fetch the state, keep the delta.
          this.buffer(delta);
          void this.topicState(delta.topic);
        } else {
          unwanted.add(delta.topic);
        }
        continue;
      }
      if (watchers === 0) {
        unwanted.add(delta.topic);
        this.topics.delete(delta.topic);
        continue;
      }
      const applied = state.apply(delta);
      if (applied === 'stale') continue;
      if (applied === 'gap') gaps.add(delta.topic);
      accepted.push(delta);
    }
    this.fanOut(accepted);
    if (gaps.size > 0) void this.resync([...gaps]);
    return { unwanted: [...unwanted], viewers: this.viewers.size };
  }

  async stats(): Promise<{ viewers: number; topics: string[]; queued: number[] }> {
    this.index();
    return { viewers: this.viewers.size, topics: [...this.topics.keys()].sort(), queued: [...this.viewers.values()].map((v) => v.queue.queued) };
  }

  override async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    this.index();
    const viewer = this.viewers.get(ws);
    if (viewer === undefined) {
      // An attachment we cannot read: nothing sensible to serve this socket.
      safeClose(ws, 1011, 'lost viewer state');
      return;
    }
    viewer.lastHeardMs = Date.now();
    const parsed = parseLiveClientMessage(frame);
    if (!parsed.ok) {
      this.reject(viewer, parsed.code, parsed.message, parsed.topic);
      return;
    }
    await this.handle(viewer, parsed.message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.untrack(ws);
    // Complete the close handshake, or clients see 1006. 1005/1006/1015 are reserved and may not be sent.
    if (code !== 1005 && code !== 1006 && code !== 1015) safeClose(ws, code, reason);
    this.reporter.request();
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.warn('LiveRelay viewer socket error:', error instanceof Error ? error.message : error);
    this.untrack(ws);
    this.reporter.request();
  }

  // ---------- client messages ----------

  private async handle(viewer: Viewer, message: LiveClientMessage): Promise<void> {
    switch (message.action) {
      case 'ping':
        // A heartbeat spelled differently from HEARTBEAT_REQUEST: same answer, but it woke us.
        this.sendRaw(viewer, HEARTBEAT_RESPONSE);
        return;
      case 'ack': {
        const next = viewer.queue.ack(message.frames);
        if (next !== null) this.sendRaw(viewer, frameOf(next.map(serializeDelta)));
        return;
      }
      case 'unsubscribe':
      case 'subscribe':
        if (!viewer.bucket.take(Date.now())) {
          this.reject(viewer, 'rate_limited', 'Too many subscribe/unsubscribe messages; slow down.', message.topic);
          return;
        }
        if (message.action === 'unsubscribe') this.unsubscribe(viewer, message.topic);
        else await this.subscribe(viewer, message);
        return;
    }
  }

  private unsubscribe(viewer: Viewer, topic: string): void {
    if (viewer.attachment.topics.includes(topic)) {
      viewer.attachment.topics = viewer.attachment.topics.filter((name) => name !== topic);
      this.saveAttachment(viewer);
      this.topicViewers.get(topic)?.delete(viewer.ws);
    }
    // The root learns lazily: the next delta for a topic nobody here watches comes back as unwanted.
    this.sendJson(viewer, { type: 'unsubscribed', topic });
  }

  private async subscribe(viewer: Viewer, message: Extract<LiveClientMessage, { action: 'subscribe' }>): Promise<void> {
    const name = message.topic;
    const parsed = parseTopic(name);
    if (!parsed.ok) return this.reject(viewer, 'invalid_topic', parsed.message, name);
    if (!topicAllowed(name, viewer.attachment.topicPrefix)) {
      return this.reject(viewer, 'topic_not_allowed', `This viewer token allows topics starting with "${viewer.attachment.topicPrefix}" only.`, name);
    }
    const budget = topicBudget(viewer.attachment.topics, name);
    if (!budget.ok) return this.reject(viewer, 'too_many_topics', budget.message, name);
    const state = await this.topicState(name);
    if (!this.viewers.has(viewer.ws)) return; // closed while we waited for the root
    if (state === null) {
      this.sendJson(viewer, errorFrame('topic_unavailable', 'The live layer could not load this topic; try again.', name));
      return;
    }
    if (!viewer.attachment.topics.includes(name)) {
      viewer.attachment.topics.push(name);
      this.saveAttachment(viewer);
    }
    this.watch(viewer.ws, name);
    const now = Date.now();
    if (message.lastSeq !== null) {
      const missed = state.since(message.lastSeq);
      if (missed !== null) {
        this.sendJson(viewer, { type: 'subscribed', topic: name, seq: state.seq, resumed: true } satisfies SubscribedMessage);
        if (missed.length > 0) this.sendDeltas(viewer, missed.map(outgoing), now);
        return;
      }
    }
    this.sendJson(viewer, { type: 'subscribed', topic: name, seq: state.seq, resumed: false } satisfies SubscribedMessage);
    const minutes = message.snapshotMinutes ?? viewer.attachment.snapshotMinutes;
    if (minutes > 0) this.sendJson(viewer, state.snapshotMessage(minutes, now));
    // The current minute as a delta too: clients that only read deltas see a value at once.
    this.sendDeltas(viewer, [outgoing(state.currentDelta(now))], now);
  }

  /** An error frame; repeated ones close the socket (LIVE_CLOSE.abuse). */
  private reject(viewer: Viewer, code: LiveErrorCode, message: string, topic?: string): void {
    this.sendJson(viewer, errorFrame(code, message, topic));
    if (recordStrike(viewer.attachment, Date.now()) === 'close') {
      this.untrack(viewer.ws);
      safeClose(viewer.ws, LIVE_CLOSE.abuse, 'too many bad frames');
      return;
    }
    this.saveAttachment(viewer);
  }

  // ---------- topics ----------

  /** The topic's state, attaching it at the root (snapshot + registration) if this relay has none. */
  private topicState(name: string): Promise<RelayTopic | null> {
    const existing = this.topics.get(name);
    if (existing !== undefined) return Promise.resolve(existing);
    let pending = this.attaching.get(name);
    if (pending === undefined) {
      pending = this.attach(name).finally(() => this.attaching.delete(name));
      this.attaching.set(name, pending);
    }
    return pending;
  }

  private async attach(name: string): Promise<RelayTopic | null> {
    const identity = this.identity;
    if (identity === null) return null;
    try {
      const root = this.env.BROADCAST.get(this.env.BROADCAST.idFromName(identity.projectId));
      const result = await root.attachTopics({ projectId: identity.projectId, relay: identity.relay, topics: [name] });
      const snapshot = result.snapshots.find((s) => s.topic === name);
      if (snapshot === undefined) return null;
      const state = new RelayTopic(name, snapshot);
      this.topics.set(name, state);
      // Deltas the root sent while the snapshot was on its way. Viewers watching already are the ones
      // that survived a hibernation: those deltas are what they missed, whatever the snapshot's seq.
      // A viewer subscribing now starts from the snapshot, which contains them.
      const buffered = this.buffered.get(name) ?? [];
      this.buffered.delete(name);
      for (const delta of buffered) state.apply(delta);
      this.fanOut(buffered);
      return state;
    } catch (error) {
      console.warn(`LiveRelay could not attach ${name}:`, error instanceof Error ? error.message : error);
      this.buffered.delete(name);
      return null;
    }
  }

  /** After a seq gap: fresh snapshots from the root, sent to the topic's viewers. */
  private async resync(names: string[]): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    try {
      const root = this.env.BROADCAST.get(this.env.BROADCAST.idFromName(identity.projectId));
      const result = await root.attachTopics({ projectId: identity.projectId, relay: identity.relay, topics: names });
      const now = Date.now();
      for (const snapshot of result.snapshots) {
        const state = this.topics.get(snapshot.topic);
        if (state === undefined || snapshot.seq < state.seq) continue;
        state.resync(snapshot);
        for (const ws of this.topicViewers.get(snapshot.topic) ?? []) {
          const viewer = this.viewers.get(ws);
          if (viewer === undefined) continue;
          this.sendJson(viewer, state.snapshotMessage(Math.max(1, viewer.attachment.snapshotMinutes), now));
        }
      }
    } catch (error) {
      console.warn('LiveRelay resync failed:', error instanceof Error ? error.message : error);
    }
  }

  private buffer(delta: LiveDelta): void {
    const list = this.buffered.get(delta.topic);
    if (list === undefined) this.buffered.set(delta.topic, [delta]);
    else if (list.length < 1000) list.push(delta);
  }

  // ---------- fan-out ----------

  /** Each viewer gets one frame with its topics' deltas; each delta is serialized once. */
  private fanOut(deltas: readonly LiveDelta[]): void {
    if (deltas.length === 0) return;
    const perViewer = new Map<WebSocket, Outgoing[]>();
    for (const delta of deltas) {
      const watchers = this.topicViewers.get(delta.topic);
      if (watchers === undefined || watchers.size === 0) continue;
      const item = outgoing(delta);
      for (const ws of watchers) {
        const list = perViewer.get(ws);
        if (list === undefined) perViewer.set(ws, [item]);
        else list.push(item);
      }
    }
    const now = Date.now();
    for (const [ws, items] of perViewer) {
      const viewer = this.viewers.get(ws);
      if (viewer !== undefined) this.sendDeltas(viewer, items, now);
    }
  }

  /** Through the viewer's queue: sent now, or queued (coalescing) for a viewer that has not acked; overflow closes it. */
  private sendDeltas(viewer: Viewer, items: readonly Outgoing[], now: number): void {
    if (viewer.attachment.ackWindow === null && this.silent(viewer, now)) {
      this.untrack(viewer.ws);
      safeClose(viewer.ws, LIVE_CLOSE.silentViewer, 'silent viewer: send the heartbeat, reconnect and resume with lastSeq');
      return;
    }
    const offer = viewer.queue.offer(items.map((item) => item.delta));
    if (offer.kind === 'send') this.sendRaw(viewer, frameOf(items.map((item) => item.json)));
    else if (offer.kind === 'overflow') {
      this.untrack(viewer.ws);
      safeClose(viewer.ws, LIVE_CLOSE.slowViewer, 'slow viewer: reconnect and resume with lastSeq');
    }
  }

  /**
   * A viewer without flow control is bounded by time, not by a queue the relay
   * cannot see: one that sent nothing for its silence limit (the runtime
   * answers heartbeats without waking us, so their time is asked for only then)
   * is treated as gone, since its frames would pile up unseen in the runtime.
   */
  private silent(viewer: Viewer, now: number): boolean {
    const limitMs = viewer.attachment.silenceSeconds * 1000;
    if (now - viewer.lastHeardMs <= limitMs) return false;
    const heartbeat = this.ctx.getWebSocketAutoResponseTimestamp(viewer.ws);
    if (heartbeat !== null) viewer.lastHeardMs = Math.max(viewer.lastHeardMs, heartbeat.getTime());
    return now - viewer.lastHeardMs > limitMs;
  }

  private sendJson(viewer: Viewer, message: unknown): void {
    this.sendRaw(viewer, JSON.stringify(message));
  }

  /** One bad socket must never break the fan-out to the others. */
  private sendRaw(viewer: Viewer, text: string): void {
    try {
      viewer.ws.send(text);
    } catch (error) {
      console.warn('LiveRelay send failed:', error instanceof Error ? error.message : error);
      this.untrack(viewer.ws);
    }
  }

  // ---------- viewers ----------

  /** Rebuilds the in-memory indexes from the sockets' attachments (after a wake from hibernation). */
  private index(): void {
    if (this.indexed) return;
    this.indexed = true;
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = parseAttachment(ws.deserializeAttachment());
      if (attachment === null) continue;
      this.identity ??= { projectId: attachment.projectId, relay: attachment.relay };
      this.track(ws, attachment);
      for (const topic of attachment.topics) this.watch(ws, topic);
    }
  }

  private track(ws: WebSocket, attachment: ViewerAttachment): Viewer {
    const viewer: Viewer = {
      ws,
      attachment,
      queue: new ViewerQueue(attachment.ackWindow ?? Number.POSITIVE_INFINITY, attachment.queueMax),
      bucket: new MessageBucket(undefined, undefined, Date.now()),
      // After a wake from hibernation the clock starts again: silence is judged from here.
      lastHeardMs: Date.now(),
    };
    this.viewers.set(ws, viewer);
    return viewer;
  }

  private watch(ws: WebSocket, topic: string): void {
    let watchers = this.topicViewers.get(topic);
    if (watchers === undefined) {
      watchers = new Set();
      this.topicViewers.set(topic, watchers);
    }
    watchers.add(ws);
  }

  private untrack(ws: WebSocket): void {
    const viewer = this.viewers.get(ws);
    if (viewer === undefined) return;
    this.viewers.delete(ws);
    for (const topic of viewer.attachment.topics) {
      const watchers = this.topicViewers.get(topic);
      watchers?.delete(ws);
      if (watchers?.size === 0) this.topicViewers.delete(topic);
    }
  }

  private saveAttachment(viewer: Viewer): void {
    try {
      viewer.ws.serializeAttachment(viewer.attachment);
    } catch (error) {
      // Over 16 KB or a closed socket; the topic budget keeps the first from happening.
      console.warn('LiveRelay could not save a viewer attachment:', error instanceof Error ? error.message : error);
    }
  }

  private async report(): Promise<void> {
    const identity = this.identity;
    if (identity === null) return;
    const root = this.env.BROADCAST.get(this.env.BROADCAST.idFromName(identity.projectId));
    await root.relayReport({ projectId: identity.projectId, relay: identity.relay, viewers: this.viewers.size });
  }
}

function outgoing(delta: LiveDelta): Outgoing {
  return { delta, json: serializeDelta(delta) };
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed.
  }
}

function errorResponse(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
