import { describe, expect, it } from 'vitest';
import { LIVE_ABUSE, MAX_TOPIC_CHARS_PER_VIEWER, MAX_TOPICS_PER_VIEWER } from './live-protocol.ts';
import { MessageBucket, newAttachment, parseAttachment, parseViewerParams, recordStrike, topicBudget, type ViewerParams } from './live-viewer.ts';

const params: ViewerParams = {
  v: 1,
  projectId: 'p',
  relay: 'relay:p:weur:0',
  hint: 'weur',
  topicPrefix: 'metrics:',
  ackWindow: 16,
  capacity: 5000,
  snapshotMinutes: 10,
  queueMax: 256,
  silenceSeconds: 120,
  tickMs: 250,
};

describe('viewer state', () => {
  it('round-trips the edge header and the attachment, refusing anything malformed', () => {
    expect(parseViewerParams(JSON.stringify(params))).toEqual(params);
    expect(parseViewerParams(JSON.stringify({ ...params, hint: 'mars' }))).toBeNull();
    expect(parseViewerParams(JSON.stringify({ ...params, capacity: 0 }))).toBeNull();
    expect(parseViewerParams(JSON.stringify({ ...params, ackWindow: 0 }))).toBeNull();
    expect(parseViewerParams('{')).toBeNull();
    expect(parseViewerParams(null)).toBeNull();
    const attachment = newAttachment(params);
    expect(parseAttachment(structuredClone(attachment))).toEqual(attachment);
    expect(parseAttachment({ ...attachment, topics: ['a', 7] })?.topics).toEqual(['a']);
    expect(parseAttachment({ topics: [] })).toBeNull();
    expect(parseViewerParams(JSON.stringify({ ...params, silenceSeconds: 1 }))).toBeNull();
  });

  it('reads an attachment saved before the silence bound existed with the longest bound, not as unreadable', () => {
    const { silenceSeconds: _dropped, ...older } = newAttachment(params);
    expect(parseAttachment(older)?.silenceSeconds).toBe(3600);
    expect(parseAttachment({ ...older, silenceSeconds: 0 })).toBeNull();
  });

  it('closes after maxStrikes bad frames within the window, and forgives older ones', () => {
    const attachment = newAttachment(params);
    for (let i = 1; i < LIVE_ABUSE.maxStrikes; i++) expect(recordStrike(attachment, 1000)).toBe('warn');
    expect(recordStrike(attachment, 1000 + LIVE_ABUSE.windowMs + 1)).toBe('warn');
    for (let i = 1; i < LIVE_ABUSE.maxStrikes - 1; i++) recordStrike(attachment, 2000 + LIVE_ABUSE.windowMs);
    expect(recordStrike(attachment, 2000 + LIVE_ABUSE.windowMs)).toBe('close');
  });

  it('bounds topics per connection by count and total length (the attachment must stay under 16 KB)', () => {
    const many = Array.from({ length: MAX_TOPICS_PER_VIEWER }, (_, i) => `metrics:t${i}`);
    expect(topicBudget(many, 'metrics:x').ok).toBe(false);
    expect(topicBudget(many, 'metrics:t3').ok).toBe(true);
    const long = ['m'.repeat(MAX_TOPIC_CHARS_PER_VIEWER - 10)];
    expect(topicBudget(long, 'metrics:abcdef').ok).toBe(false);
    // The worst case fits: 6,000 characters of two-byte strings plus the rest of the attachment.
    expect(MAX_TOPIC_CHARS_PER_VIEWER * 2 + 1024).toBeLessThan(16 * 1024);
  });

  it('rate-limits control messages with a refilling bucket', () => {
    const bucket = new MessageBucket(3, 1, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.take(1000)).toBe(true);
    expect(bucket.take(1000)).toBe(false);
  });
});
