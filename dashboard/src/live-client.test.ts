import { describe, expect, test } from 'vitest';
import { parseLiveItem } from './delta.ts';
import { TopicCursors } from './live-cursors.ts';
import { AckCounter, backoffDelay, DEFAULT_HEARTBEAT, HeartbeatClock, parseHello } from './live-flow.ts';
import { liveSocketUrl, parseTokenAnswer, refreshDueAt, TokenError, ViewerTokens, type FetchLike } from './live-token.ts';

const delta = (topic: string, seq: number, value = seq) => ({ topic, windowStart: '2026-06-07T10:30:00.000Z', windowEnd: '2026-06-07T10:31:00.000Z', value, timestamp: 'x', seq });

describe('resume cursors', () => {
  test('a first subscription has no lastSeq; after deltas a reconnect resumes from the highest seq', () => {
    const cursors = new TopicCursors();
    expect(cursors.subscribeMessage('t')).toEqual({ action: 'subscribe', topic: 't' });
    cursors.accept({ type: 'subscribed', topic: 't', seq: 10, resumed: false });
    cursors.accept({ type: 'snapshot', topic: 't', seq: 10, points: [] });
    for (const seq of [10, 11, 12]) expect(cursors.accept(delta('t', seq))).toBe(true);
    expect(cursors.subscribeMessage('t')).toEqual({ action: 'subscribe', topic: 't', lastSeq: 12 });
  });

  test('the current-value delta at the subscribed seq passes once; repeats and older deltas are dropped', () => {
    const cursors = new TopicCursors();
    cursors.accept({ type: 'subscribed', topic: 't', seq: 10, resumed: false });
    expect(cursors.accept(delta('t', 10))).toBe(true);
    expect(cursors.accept(delta('t', 10))).toBe(false);
    expect(cursors.accept(delta('t', 11))).toBe(true);
    expect(cursors.accept(delta('t', 11))).toBe(false);
    expect(cursors.accept(delta('t', 9))).toBe(false);
  });

  test('a resumed subscription keeps our lastSeq: exactly the replayed deltas after it pass, each once', () => {
    const cursors = new TopicCursors();
    cursors.accept({ type: 'subscribed', topic: 't', seq: 10, resumed: false });
    cursors.accept(delta('t', 10));
    cursors.accept(delta('t', 11));
    // Reconnect: the server is at 14 and replays 12..14; a live frame with 13 races the replay.
    expect(cursors.subscribeMessage('t').lastSeq).toBe(11);
    cursors.accept({ type: 'subscribed', topic: 't', seq: 14, resumed: true });
    const arrived = [12, 13, 13, 14, 15].filter((seq) => cursors.accept(delta('t', seq)));
    expect(arrived).toEqual([12, 13, 14, 15]);
  });

  test('a fresh snapshot (gap too old, or a new root epoch) moves the cursor to its seq', () => {
    const cursors = new TopicCursors();
    cursors.accept(delta('t', 5));
    cursors.accept({ type: 'subscribed', topic: 't', seq: 2 ** 33 + 4, resumed: false });
    expect(cursors.accept(delta('t', 6))).toBe(false);
    expect(cursors.accept({ type: 'snapshot', topic: 't', seq: 2 ** 33 + 9, points: [] })).toBe(true);
    expect(cursors.accept(delta('t', 2 ** 33 + 10))).toBe(true);
    expect(cursors.lastSeq('t')).toBe(2 ** 33 + 10);
  });

  test('topics are independent; an unsubscribed topic starts over', () => {
    const cursors = new TopicCursors();
    cursors.accept(delta('a', 7));
    expect(cursors.accept(delta('b', 3))).toBe(true);
    cursors.forget('a');
    expect(cursors.subscribeMessage('a')).toEqual({ action: 'subscribe', topic: 'a' });
    expect(cursors.accept({ error: { code: 'invalid_topic', message: 'no' }, topic: 'a' })).toBe(true);
  });
});

describe('hello, acks, heartbeat, backoff', () => {
  test('the hello names the heartbeat and the accepted ack window', () => {
    expect(parseHello({ type: 'hello', relay: 'relay:p:weur:0', tickMs: 250, heartbeat: '{"action":"ping"}', ackWindow: 32 })).toEqual({
      relay: 'relay:p:weur:0',
      tickMs: 250,
      heartbeat: '{"action":"ping"}',
      ackWindow: 32,
    });
    expect(parseHello({ type: 'hello', relay: 'r' })).toMatchObject({ heartbeat: DEFAULT_HEARTBEAT, ackWindow: null });
    expect(parseHello({ type: 'subscribed', relay: 'r' })).toBeNull();
  });

  test('acks every half window, counting frames', () => {
    const acks = new AckCounter(32);
    const sent = Array.from({ length: 40 }, () => acks.frameProcessed()).filter((n) => n !== null);
    expect(sent).toEqual([16, 16]);
    expect(new AckCounter(1).frameProcessed()).toBe(1);
  });

  test('pings every interval; a connection that answered nothing since the last ping is dead', () => {
    const clock = new HeartbeatClock();
    clock.messageReceived(0);
    expect(clock.tick(25_000)).toBe('ping');
    clock.messageReceived(25_010);
    expect(clock.tick(50_000)).toBe('ping');
    expect(clock.tick(75_000)).toBe('dead');
  });

  test('full-jitter backoff doubles its ceiling up to 30 s, never below 250 ms', () => {
    expect(backoffDelay(1, 1)).toBe(1000);
    expect(backoffDelay(3, 1)).toBe(4000);
    expect(backoffDelay(10, 1)).toBe(30_000);
    expect(backoffDelay(10, 0.5)).toBe(15_000);
    expect(backoffDelay(2, 0)).toBe(250);
  });

  test('the relay’s pong is a heartbeat, not an unknown message', () => {
    expect(parseLiveItem({ type: 'pong' })).toEqual({ kind: 'heartbeat' });
  });
});

describe('viewer tokens', () => {
  const answer = (now: number, ttlS = 300) => ({
    token: 'abc.def',
    projectId: 'p',
    topicPrefix: '',
    expiresAt: new Date(now + ttlS * 1000).toISOString(),
    url: '/v1/live?token=abc.def&project=p',
  });
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  function source(responses: Array<() => Response>, clock: { now: number }) {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, init });
      const next = responses.shift();
      if (next === undefined) throw new TypeError('network down');
      return next();
    };
    return { calls, tokens: new ViewerTokens({ key: 'ep_read_x', baseHref: 'https://dash.example/?key=ep_read_x', fetch, now: () => clock.now }) };
  }

  test('mints with the read key in a header and connects with the token only', async () => {
    const clock = { now: 1_000_000 };
    const { calls, tokens } = source([() => json(201, answer(clock.now))], clock);
    const credential = await tokens.credential();
    expect(credential).toEqual({ kind: 'token', path: '/v1/live?token=abc.def&project=p', expiresAtMs: clock.now + 300_000 });
    expect(calls[0]?.url).toBe('https://dash.example/v1/live/token');
    expect(calls[0]?.init).toMatchObject({ method: 'POST', headers: { authorization: 'Bearer ep_read_x' } });
    const url = liveSocketUrl(new URL('https://dash.example/?key=ep_read_x'), credential, 32);
    expect(url).toBe('wss://dash.example/v1/live?token=abc.def&project=p&ack=32');
    expect(url).not.toContain('ep_read_x');
  });

  test('reuses a token until 80 % of its life, then renews it before it expires', async () => {
    const clock = { now: 1_000_000 };
    const { calls, tokens } = source([() => json(201, answer(clock.now)), () => json(201, { ...answer(clock.now + 240_000), url: '/v1/live?token=new&project=p' })], clock);
    await tokens.credential();
    expect(tokens.dueAtMs).toBe(clock.now + 240_000);
    clock.now += 200_000;
    await tokens.credential();
    expect(calls).toHaveLength(1);
    clock.now += 40_000;
    expect(await tokens.credential()).toMatchObject({ kind: 'token', path: '/v1/live?token=new&project=p' });
    expect(calls).toHaveLength(2);
    expect(refreshDueAt(0, 20_000)).toBe(5000);
  });

  test('a due token still connects when the renewal fails on the network; an expired one does not', async () => {
    const clock = { now: 1_000_000 };
    const { tokens } = source([() => json(201, answer(clock.now))], clock);
    await tokens.credential();
    clock.now += 250_000;
    expect((await tokens.credential()).kind).toBe('token');
    clock.now += 60_000;
    await expect(tokens.credential()).rejects.toMatchObject({ code: 'network_error', status: 0 });
  });

  test('falls back to the read key only when the server cannot mint tokens', async () => {
    const clock = { now: 1_000_000 };
    const { tokens } = source([() => json(503, { error: { code: 'live_tokens_unavailable', message: 'no secret' } })], clock);
    const credential = await tokens.credential();
    expect(credential).toEqual({ kind: 'key', key: 'ep_read_x' });
    expect(liveSocketUrl(new URL('http://localhost:8787/'), credential, null)).toBe('ws://localhost:8787/v1/live?key=ep_read_x');
  });

  test('a refused key is an error to report, not a reason to put the key in the URL', async () => {
    const clock = { now: 1_000_000 };
    const { tokens } = source([() => json(401, { error: { code: 'invalid_key', message: 'Unknown key.' } })], clock);
    const error = await tokens.credential().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenError);
    expect(error).toMatchObject({ code: 'invalid_key', status: 401 });
  });

  test('answers are validated: the URL must be the live route', async () => {
    expect(parseTokenAnswer({ ...answer(0), url: 'https://evil.example/v1/live?token=x' })).toBeNull();
    expect(parseTokenAnswer({ ...answer(0), expiresAt: 'soon' })).toBeNull();
    await expect(new ViewerTokens({ key: null, baseHref: 'http://h/', fetch: async () => json(500, {}), now: () => 0 }).credential()).resolves.toEqual({ kind: 'none' });
  });
});
