import { describe, expect, it } from 'vitest';
import { BackpressureError, parseBackpressure } from './backpressure.ts';

describe('backpressure errors', () => {
  it('carry their figures in the message, so they survive an RPC boundary', () => {
    const error = new BackpressureError({ retryAfterSeconds: 7, backlogRows: 5000, limit: 5000 });
    expect(parseBackpressure(error)).toEqual({ retryAfterSeconds: 7, backlogRows: 5000, limit: 5000 });
    // What a caller sees after RPC: a plain Error with the same message.
    expect(parseBackpressure(new Error(error.message))).toEqual({ retryAfterSeconds: 7, backlogRows: 5000, limit: 5000 });
    expect(parseBackpressure(error.message)).toEqual({ retryAfterSeconds: 7, backlogRows: 5000, limit: 5000 });
  });

  it('are not confused with other failures', () => {
    expect(parseBackpressure(new Error('Network connection lost.'))).toBeNull();
    expect(parseBackpressure(undefined)).toBeNull();
    expect(parseBackpressure({ message: 'edgepulse-backpressure retry_after_s=1 backlog_rows=1 limit=1' })).toBeNull();
  });
});
