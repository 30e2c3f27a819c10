import { beforeAll, describe, expect, it } from 'vitest';
import { HEARTBEAT_REQUEST, LIVE_CLOSE } from '../../core/live-protocol.ts';
import { createTestProject, uniqueEventType, type TestProject } from './helpers.ts';
import { configureLive, isDeltaOf, isHello, isType, post, sleep, Viewer } from './live-support.ts';

/**
 * A viewer without flow control cannot be seen falling behind (workerd's
 * server-side WebSocket has no bufferedAmount), so it is bounded by time: one
 * that sends nothing, not even the heartbeat, for its silence limit while
 * deltas go to it is closed with 4002 and resumes like a slow viewer. The
 * heartbeat is answered by the runtime without waking the relay, so the relay
 * reads its time from the runtime (getWebSocketAutoResponseTimestamp).
 */
let project: TestProject;
const SILENCE_SECONDS = 5;

beforeAll(async () => {
  project = await createTestProject();
  await configureLive({ viewerSilenceSeconds: SILENCE_SECONDS }, project.projectId);
});

const connect = (query = '') => Viewer.open(`/v1/live?key=${project.keys.read}${query}`);

describe('silent viewers (no flow control)', () => {
  it(`closes a viewer that sent nothing for ${SILENCE_SECONDS} s with ${LIVE_CLOSE.silentViewer}, keeps one that only heartbeats, and the closed one resumes`, async () => {
    const eventType = uniqueEventType('silent');
    const topic = `metrics:${eventType}`;
    const silent = await connect();
    const beating = await connect();
    expect((await silent.waitFor(isHello)).ackWindow).toBeUndefined();
    for (const viewer of [silent, beating]) {
      viewer.subscribe(topic);
      await viewer.waitFor(isDeltaOf(topic));
    }
    // Only the runtime's auto-response ever sees these: the relay is not woken by them.
    const heartbeat = setInterval(() => beating.send(HEARTBEAT_REQUEST), 1000);
    let round = 0;
    let lastSeqBeforeClose = 0;
    try {
      const deadline = Date.now() + (SILENCE_SECONDS + 6) * 1000;
      while (silent.closed === null && Date.now() < deadline) {
        round++;
        lastSeqBeforeClose = Math.max(0, ...silent.deltas(topic).map((d) => d.seq));
        await post(eventType, 1, `${eventType}-r${round}`, project);
        await beating.waitFor(isDeltaOf(topic, (d) => d.value === round));
        await sleep(700);
      }
      const closed = await silent.waitForClose(1000);
      expect(closed.code).toBe(LIVE_CLOSE.silentViewer);
      // Not before its silence limit: it was heard when it subscribed.
      expect(round).toBeGreaterThanOrEqual(SILENCE_SECONDS);
      // The heartbeating viewer stayed, with every value.
      await post(eventType, 1, `${eventType}-last`, project);
      await beating.waitFor(isDeltaOf(topic, (d) => d.value === round + 1));
      expect(beating.closed).toBeNull();
      expect(beating.deltas(topic).map((d) => d.value)).toEqual(Array.from({ length: round + 2 }, (_, i) => i));
    } finally {
      clearInterval(heartbeat);
    }

    // Resume from the last seq it saw: the missed deltas, no snapshot needed.
    const back = await connect();
    back.subscribe(topic, { lastSeq: lastSeqBeforeClose });
    expect((await back.waitFor(isType('subscribed', topic))).resumed).toBe(true);
    await back.waitFor(isDeltaOf(topic, (d) => d.value === round + 1));
    for (const viewer of [beating, back]) viewer.close();
  });
});
