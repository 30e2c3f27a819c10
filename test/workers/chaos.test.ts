import { describe, expect, it } from 'vitest';
import { chaosParams, chaosTimeoutMs } from '../chaos/params.ts';
import { runChaos } from '../chaos/runner.ts';

/**
 * Ground-truth chaos test (issue 7): a seeded event stream through the real
 * edge Worker into the real shards and ClickHouse, under ClickHouse outages,
 * lost acknowledgements, shard aborts mid-window and mid-flush, duplicated
 * alarms and viewer disconnects; afterwards ClickHouse must equal the
 * generator's ground truth exactly (core/chaos-generator.ts) and the viewers
 * must show ClickHouse's values. Under `npm test` this is the short variant
 * (~3,000 events, ~35 s); `npm run chaos` runs the same code longer and larger.
 */
const params = chaosParams();

describe(`chaos (${params.variant})`, () => {
  it(
    `counts a ${params.events}-event stream exactly once under faults (seed ${params.seed})`,
    async () => {
      const report = await runChaos(params);
      expect(report.ok, report.text).toBe(true);
    },
    chaosTimeoutMs(params),
  );
});
