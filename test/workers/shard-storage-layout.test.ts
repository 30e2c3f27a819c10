import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { PANE_COLUMNS } from '../../core/pane-store.ts';
import type { ShardAggregator } from '../../durable-objects/ShardAggregator.ts';
import { drainAlarms, expectConsistent, makeEvents, newProjectId, shardOf, untilClosed } from './aggregation-support.ts';

/** The first panes layout: a rowid table, its primary key as a separate index, a full (unsealed, pane_start) index. */
const FIRST_LAYOUT = [
  `CREATE TABLE panes_old (
    pane_start INTEGER NOT NULL, event_type TEXT NOT NULL, dims_key TEXT NOT NULL,
    events INTEGER NOT NULL, value_sum REAL NOT NULL, bot_events INTEGER NOT NULL, bot_value_sum REAL NOT NULL,
    late_events INTEGER NOT NULL, users BLOB,
    u_events INTEGER NOT NULL, u_value_sum REAL NOT NULL, u_bot_events INTEGER NOT NULL, u_bot_value_sum REAL NOT NULL,
    u_late_events INTEGER NOT NULL, unsealed INTEGER NOT NULL,
    PRIMARY KEY (pane_start, event_type, dims_key))`,
  `INSERT INTO panes_old (${PANE_COLUMNS}) SELECT ${PANE_COLUMNS} FROM panes`,
  'DROP TABLE panes',
  'ALTER TABLE panes_old RENAME TO panes',
  'CREATE INDEX panes_unsealed ON panes (unsealed, pane_start)',
];

interface Layout {
  tableSql: string;
  indexes: string[];
  rows: Array<Record<string, unknown>>;
}

function layoutOf(state: DurableObjectState): Layout {
  const sql = state.storage.sql;
  const table = sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'panes'").toArray()[0];
  const indexes = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'panes' AND sql IS NOT NULL ORDER BY name").toArray();
  const rows = sql.exec(`SELECT ${PANE_COLUMNS} FROM panes ORDER BY pane_start, event_type, dims_key`).toArray();
  return { tableSql: table?.sql ?? '', indexes: indexes.map((row) => row.name), rows };
}

describe('shard storage layout (SQLite rows written are billed, index rows included)', () => {
  it('upgrades a panes table of the first layout in place when the shard starts: the same rows, then counting and flushing as before', async () => {
    const projectId = newProjectId('layout');
    const stub = shardOf(projectId);
    const timestampMs = Date.now() - 5_000;
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 40, { timestampMs, users: 7 }) });
    const before = await runInDurableObject(stub, (instance: ShardAggregator, state) => {
      instance.checkpoint();
      for (const statement of FIRST_LAYOUT) state.storage.sql.exec(statement);
      return layoutOf(state);
    });
    expect(before.tableSql).not.toMatch(/WITHOUT ROWID/);
    expect(before.indexes).toEqual(['panes_unsealed']);
    expect(before.rows.length).toBeGreaterThan(0);

    // The next instance migrates in its constructor.
    await runInDurableObject(stub, (_instance: ShardAggregator, state) => state.abort('fault injection')).catch(() => undefined);
    const after = await runInDurableObject(shardOf(projectId), (_instance: ShardAggregator, state) => layoutOf(state));
    expect(after.tableSql).toMatch(/WITHOUT ROWID/);
    expect(after.indexes).toEqual(['panes_unsealed_by_start']);
    expect(after.rows).toEqual(before.rows);

    await shardOf(projectId).ingest({ projectId, shard: 0, events: makeEvents(`${projectId}-more`, 10, { timestampMs, users: 3 }) });
    await untilClosed(timestampMs);
    await drainAlarms(shardOf(projectId));
    await expectConsistent(projectId, { events: 50, valueSum: 50, users: 10 });
  });

  it('writes a new pane row as two rows (the row and its unsealed-index entry) where the first layout wrote three', async () => {
    const projectId = newProjectId('layout-rows');
    const stub = shardOf(projectId);
    await stub.ingest({ projectId, shard: 0, events: makeEvents(projectId, 1, { timestampMs: Date.now() - 1_000 }) });
    const written = await runInDurableObject(stub, (instance: ShardAggregator, state) => {
      const sql = state.storage.sql;
      instance.checkpoint();
      const copyInto = (table: string): number =>
        sql.exec(`INSERT INTO ${table} (${PANE_COLUMNS}) SELECT pane_start + 1, ${PANE_COLUMNS.replace('pane_start, ', '')} FROM panes WHERE unsealed = 1 LIMIT 1`).rowsWritten;
      const first = FIRST_LAYOUT[0]?.replace('panes_old', 'panes_first_layout') ?? '';
      sql.exec(first);
      sql.exec('CREATE INDEX panes_first_layout_unsealed ON panes_first_layout (unsealed, pane_start)');
      const result = { current: copyInto('panes'), firstLayout: copyInto('panes_first_layout') };
      sql.exec('DROP TABLE panes_first_layout');
      sql.exec('DELETE FROM panes WHERE pane_start = (SELECT MAX(pane_start) FROM panes)');
      return result;
    });
    expect(written).toEqual({ current: 2, firstLayout: 3 });
  });
});
