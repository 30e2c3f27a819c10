import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { ShardIngestRequest, ShardIngestResult } from '../../core/protocol.ts';
import { app } from '../../workers/index.ts';
import { BASE } from './helpers.ts';

/**
 * The real Worker (workers/index.ts) called with an env whose shard
 * namespace is the real one seen through a recorder: every ingest request
 * reaches the real ShardAggregator, and `fault` may make chosen calls fail
 * the way a shard can in production (it throws, or its answer is lost after
 * it stored the events). That is fault injection at the RPC boundary, not a
 * mock: no test double stands in for a shard.
 */
export type ShardFault = (request: ShardIngestRequest, call: number) => 'throw' | 'lose_answer' | null;

export interface EdgeUnderTest {
  /** Every ingest request the edge sent, in order, with what happened to it. */
  readonly calls: Array<{ request: ShardIngestRequest; outcome: 'ok' | 'thrown' | 'answer_lost' }>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Sets (or clears) the fault for later calls. */
  setFault(fault: ShardFault | null): void;
  /** The events of the recorded calls, parsed from their eventsJson. */
  sentEvents(): Array<Record<string, unknown>>;
}

/** A property of a runtime object; its methods must be called on the object itself, not on a Proxy of it. */
function bound(target: object, property: string | symbol): unknown {
  const value: unknown = Reflect.get(target, property);
  return typeof value === 'function' ? value.bind(target) : value;
}

export function edgeWithShardRecorder(vars: Partial<Env> = {}): EdgeUnderTest {
  const calls: EdgeUnderTest['calls'] = [];
  let fault: ShardFault | null = null;
  const real = env.SHARD_AGGREGATOR;
  const shards = new Proxy(real, {
    get(target, property) {
      if (property !== 'get') return bound(target, property);
      return (id: DurableObjectId) => {
        const stub = target.get(id);
        return new Proxy(stub, {
          get(stubTarget, stubProperty) {
            if (stubProperty !== 'ingest') return bound(stubTarget, stubProperty);
            return async (request: ShardIngestRequest): Promise<ShardIngestResult> => {
              const call = calls.length;
              const injected = fault?.(request, call) ?? null;
              if (injected === 'throw') {
                calls.push({ request, outcome: 'thrown' });
                throw new Error('Durable Object reset because its code was updated (injected).');
              }
              const result = await stubTarget.ingest(request);
              if (injected === 'lose_answer') {
                calls.push({ request, outcome: 'answer_lost' });
                throw new Error('Network connection lost (injected, after the shard stored the events).');
              }
              calls.push({ request, outcome: 'ok' });
              return result;
            };
          },
        });
      };
    },
  });
  const testEnv: Env = { ...env, ...vars, SHARD_AGGREGATOR: shards };
  return {
    calls,
    async fetch(path, init) {
      const ctx = createExecutionContext();
      const response = await app.request(new Request(`${BASE}${path}`, init), undefined, testEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    },
    setFault(next) {
      fault = next;
    },
    sentEvents() {
      return calls.flatMap(({ request }) => {
        const parsed: unknown = JSON.parse(request.eventsJson ?? '[]');
        return Array.isArray(parsed) ? parsed.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null) : [];
      });
    },
  };
}
