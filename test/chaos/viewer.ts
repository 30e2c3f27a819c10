// A dashboard viewer of the chaos test: a real WebSocket through GET /v1/live
// (LiveClient from test/workers/helpers.ts) that keeps, per topic and
// minute, the value it was last told, exactly as a dashboard would: a
// `snapshot` sets its (zero-filled) minutes, a delta sets its minute (values
// are absolute running totals). Each minute remembers the seq that set it,
// so an older frame never overwrites a newer one whatever the arrival order.
// It can be disconnected mid-run and reconnect, resuming with lastSeq (the
// relay replays what was missed, or answers with a snapshot) or asking for a
// fresh snapshot.
import { HEARTBEAT_REQUEST } from '../../core/live-protocol.ts';
import { LiveClient } from '../workers/helpers.ts';

interface MinuteValue {
  value: number;
  seq: number;
}

interface TopicState {
  minutes: Map<number, MinuteValue>;
  /** Highest seq seen, for resume. */
  maxSeq: number | null;
  /** Delta seqs must be consecutive within a connection unless a snapshot resyncs: gaps seen. */
  gaps: number;
  lastDeltaSeq: number | null;
}

export interface ViewerStats {
  connects: number;
  disconnects: number;
  resumedSubscriptions: number;
  snapshots: number;
  deltas: number;
  staleFrames: number;
  seqGaps: number;
  errors: string[];
  /** Closes the server initiated (time, code, reason). */
  serverCloses: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ChaosViewer {
  readonly topics = new Map<string, TopicState>();
  readonly stats: ViewerStats = { connects: 0, disconnects: 0, resumedSubscriptions: 0, snapshots: 0, deltas: 0, staleFrames: 0, seqGaps: 0, errors: [], serverCloses: [] };
  /** The relay the viewer was last placed on (from its `hello`). */
  relay: string | null = null;
  private client: LiveClient | null = null;
  private processed = 0;

  constructor(
    readonly index: number,
    readonly projectLabel: string,
    private readonly readKey: string,
    topicNames: readonly string[],
  ) {
    for (const name of topicNames) this.topics.set(name, { minutes: new Map(), maxSeq: null, gaps: 0, lastDeltaSeq: null });
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Connects and subscribes every topic; with `resume`, passes each topic's highest seq as lastSeq. */
  async connect(resume: boolean): Promise<{ resumed: number; snapshots: number }> {
    if (this.client !== null) throw new Error(`viewer ${this.index} is already connected`);
    const client = await LiveClient.connect(`/v1/live?key=${encodeURIComponent(this.readKey)}`);
    this.client = client;
    this.processed = 0;
    // As a dashboard does (every 25 s): a viewer without flow control that stays silent is closed (4002).
    const heartbeat = setInterval(() => {
      if (this.client === client) client.send(HEARTBEAT_REQUEST);
      else clearInterval(heartbeat);
    }, 25_000);
    client.socket.addEventListener('close', () => clearInterval(heartbeat));
    client.socket.addEventListener('close', (event) => {
      // Closed by the server (we close through disconnect(), which forgets the client first): like a
      // dashboard, reconnect and resume with lastSeq.
      if (this.client !== client) return;
      this.sync();
      this.stats.serverCloses.push(`${new Date().toISOString().slice(11, 23)} code ${event.code} ${event.reason}`.trim());
      this.client = null;
      this.reconnecting = this.reconnect();
    });
    this.stats.connects++;
    for (const [topic, state] of this.topics) {
      state.lastDeltaSeq = null;
      const lastSeq = resume && state.maxSeq !== null ? { lastSeq: state.maxSeq } : {};
      client.send({ action: 'subscribe', topic, snapshotMinutes: 60, ...lastSeq });
    }
    const names = new Set(this.topics.keys());
    const subscribed = (message: unknown): message is { type: 'subscribed' } => {
      return isRecord(message) && message.type === 'subscribed' && typeof message.topic === 'string' && names.has(message.topic);
    };
    // Every topic answered (subscribed, or an error frame naming it).
    const deadline = Date.now() + 15_000;
    for (;;) {
      this.sync();
      const answered = new Set(
        client.messages.flatMap((m) => (subscribed(m) || (isRecord(m) && isRecord(m.error) && typeof m.topic === 'string') ? [String((m as Record<string, unknown>).topic)] : [])),
      );
      if ([...names].every((name) => answered.has(name))) break;
      if (Date.now() > deadline) throw new Error(`viewer ${this.index}: subscriptions not answered within 15 s: ${JSON.stringify(client.messages).slice(0, 2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const resumed = client.messages.filter((m) => subscribed(m) && (m as Record<string, unknown>).resumed === true).length;
    this.stats.resumedSubscriptions += resumed;
    return { resumed, snapshots: names.size - resumed };
  }

  /** Set while reconnecting after a server close; awaited by settle(). */
  reconnecting: Promise<void> | null = null;

  private async reconnect(): Promise<void> {
    for (let attempt = 1; attempt <= 10 && this.client === null; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      try {
        await this.connect(true);
      } catch (error) {
        this.stats.errors.push(`reconnect ${attempt}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** Waits for a reconnect after a server close, if one is under way. */
  async settle(): Promise<void> {
    await this.reconnecting;
  }

  disconnect(): void {
    if (this.client === null) return;
    this.sync();
    try {
      this.client.socket.close(1001, 'chaos: viewer disconnect');
    } catch {
      // Already closing.
    }
    this.client = null;
    this.stats.disconnects++;
  }

  /** Folds the messages received since the last call into the per-minute state. */
  sync(): void {
    const client = this.client;
    if (client === null) return;
    const messages = client.messages;
    for (; this.processed < messages.length; this.processed++) this.apply(messages[this.processed]);
  }

  /** The viewer's value for a topic's minute (0 when it was never told anything). */
  value(topic: string, minuteMs: number): number {
    this.sync();
    return this.topics.get(topic)?.minutes.get(minuteMs)?.value ?? 0;
  }

  minutes(topic: string): number[] {
    this.sync();
    return [...(this.topics.get(topic)?.minutes.keys() ?? [])];
  }

  private apply(message: unknown): void {
    if (!isRecord(message)) return;
    if (message.type === 'hello' && typeof message.relay === 'string') {
      this.relay = message.relay;
      return;
    }
    if (isRecord(message.error)) {
      this.stats.errors.push(JSON.stringify(message));
      return;
    }
    const topic = typeof message.topic === 'string' ? this.topics.get(message.topic) : undefined;
    if (topic === undefined) return;
    if (message.type === 'snapshot' && Array.isArray(message.points) && typeof message.seq === 'number') {
      this.stats.snapshots++;
      const seq = message.seq;
      for (const point of message.points) {
        if (!isRecord(point) || typeof point.time !== 'string' || typeof point.value !== 'number') continue;
        this.set(topic, Date.parse(point.time), point.value, seq);
      }
      topic.maxSeq = Math.max(topic.maxSeq ?? seq, seq);
      topic.lastDeltaSeq = seq;
      return;
    }
    if (message.type === 'subscribed' && typeof message.seq === 'number') {
      if (message.resumed !== true) topic.lastDeltaSeq = null;
      return;
    }
    if (message.type === undefined && typeof message.windowStart === 'string' && typeof message.value === 'number' && typeof message.seq === 'number') {
      this.stats.deltas++;
      const seq = message.seq;
      if (topic.lastDeltaSeq !== null && seq > topic.lastDeltaSeq + 1) {
        topic.gaps++;
        this.stats.seqGaps++;
      }
      if (topic.lastDeltaSeq === null || seq > topic.lastDeltaSeq) topic.lastDeltaSeq = seq;
      this.set(topic, Date.parse(message.windowStart), message.value, seq);
      topic.maxSeq = Math.max(topic.maxSeq ?? seq, seq);
    }
  }

  private set(topic: TopicState, minuteMs: number, value: number, seq: number): void {
    const current = topic.minutes.get(minuteMs);
    if (current !== undefined && current.seq > seq) {
      this.stats.staleFrames++;
      return;
    }
    topic.minutes.set(minuteMs, { value, seq });
  }
}
