import { describe, expect, it } from 'vitest';
import { frameOf, HEARTBEAT_REQUEST, parseLiveClientMessage, serializeDelta, topicAllowed } from './live-protocol.ts';

describe('live client messages', () => {
  it('parses subscribe with optional resume and snapshot length', () => {
    expect(parseLiveClientMessage('{"action":"subscribe","topic":"metrics:a"}')).toEqual({
      ok: true,
      message: { action: 'subscribe', topic: 'metrics:a', lastSeq: null, snapshotMinutes: null },
    });
    expect(parseLiveClientMessage('{"action":"subscribe","topic":"metrics:a","lastSeq":42,"snapshotMinutes":0}')).toEqual({
      ok: true,
      message: { action: 'subscribe', topic: 'metrics:a', lastSeq: 42, snapshotMinutes: 0 },
    });
  });

  it('parses unsubscribe, ack and the heartbeat', () => {
    expect(parseLiveClientMessage('{"action":"unsubscribe","topic":"metrics:a"}')).toEqual({ ok: true, message: { action: 'unsubscribe', topic: 'metrics:a' } });
    expect(parseLiveClientMessage('{"action":"ack","frames":3}')).toEqual({ ok: true, message: { action: 'ack', frames: 3 } });
    expect(parseLiveClientMessage(HEARTBEAT_REQUEST)).toEqual({ ok: true, message: { action: 'ping' } });
  });

  it('refuses bad frames with a code for each', () => {
    const code = (frame: string | ArrayBuffer) => {
      const parsed = parseLiveClientMessage(frame);
      return parsed.ok ? 'ok' : parsed.code;
    };
    expect(code(new ArrayBuffer(2))).toBe('binary_frame');
    expect(code('x'.repeat(5000))).toBe('frame_too_large');
    // 1,400 three-byte characters are 4,200 bytes: over the limit although under it in characters.
    expect(code(JSON.stringify({ action: 'subscribe', topic: '€'.repeat(1400) }))).toBe('frame_too_large');
    expect(code('{nope')).toBe('malformed_json');
    expect(code('[1]')).toBe('invalid_message');
    expect(code('{"action":"dance"}')).toBe('unknown_action');
    expect(code('{"action":"subscribe","topic":7}')).toBe('invalid_topic');
    expect(code('{"action":"subscribe","topic":"metrics:a","lastSeq":-1}')).toBe('invalid_field');
    expect(code('{"action":"subscribe","topic":"metrics:a","lastSeq":1.5}')).toBe('invalid_field');
    expect(code('{"action":"subscribe","topic":"metrics:a","snapshotMinutes":61}')).toBe('invalid_field');
    expect(code('{"action":"ack","frames":0}')).toBe('invalid_field');
  });

  it('checks token topic prefixes and builds frames from pre-serialized deltas', () => {
    expect(topicAllowed('metrics:ad_click:campaignId:x', 'metrics:ad_click')).toBe(true);
    expect(topicAllowed('value_sum:purchase', 'metrics:')).toBe(false);
    expect(topicAllowed('anything', '')).toBe(true);
    const delta = { topic: 't', windowStart: 'a', windowEnd: 'b', value: 1, timestamp: 'c', seq: 2, anomaly: false };
    expect(JSON.parse(frameOf([serializeDelta(delta), serializeDelta({ ...delta, seq: 3 })]))).toEqual([delta, { ...delta, seq: 3 }]);
  });
});
