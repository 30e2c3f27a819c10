-- edgepulse schema: what the ShardAggregator Durable Objects flush.
--
-- ONE insert per shard flush. Each shard inserts a sealed batch into
-- ingest_landing (engine Null: stores nothing) with
-- insert_deduplication_token = the batch's deterministic token, async_insert=0
-- and deduplicate_blocks_in_dependent_materialized_views=1. Materialized views
-- fan the rows out by `kind` into events_1m (rollups), events_raw (raw events,
-- RAW_EVENTS=1) and governance_1m; events_1h and events_1d are views of
-- events_1m. Every target table deduplicates the retried block of a view
-- (non_replicated_deduplication_window here; on ReplicatedMergeTree /
-- ClickHouse Cloud, replicated_deduplication_window, on by default), so a
-- retry counts once in every table. Never insert without a token: identical
-- token-less blocks are deduplicated too. The window counts blocks of ALL
-- projects: keep it above (shards x flushes per hour x hours a retry may lag).
--
-- Rollups are AggregatingMergeTree with SimpleAggregateFunction columns:
-- counts are summed and user sketches merged (maxMap) by background merges,
-- which are eventual, so readers always aggregate: sum(events),
-- maxMap(users_hll) ... GROUP BY, never trust a single row. Late events
-- arrive as extra, additive adjustment rows for an already flushed minute.
--
-- events / value_sum are human metrics; bot_events / bot_value_sum count bots
-- apart. late_events counts events that arrived after their window closed.
-- users_hll: the non-zero registers (index, rank) of the HLL of human users
-- (precision 12, core/panes.ts USER_SKETCH_PRECISION). Uniques over any range
-- and filter: SELECT maxMap(users_hll) ... then core/sketch-registers.ts
-- estimateFromRegisters(12, idx, val) in the Worker. Never add uniques of rows.
--
-- dims_key: canonical dims (keys sorted, `k=v&k2=v2`, values URI-encoded),
-- after cardinality governance (values beyond K per minute read `__other__`);
-- dims: the same as a map (any(): it is determined by dims_key), for filters.
--
-- TTLs (migrations cannot read Worker config): events_1m 400 days (a year of
-- minutes, and last year's same day), events_1h 2 years, events_1d 5 years,
-- events_raw 7 days, governance_1m 90 days. Change
-- one with a new migration, e.g.
--   ALTER TABLE events_1m MODIFY TTL window_start + INTERVAL 30 DAY;
CREATE TABLE IF NOT EXISTS ingest_landing (
  kind Enum8('rollup' = 1, 'raw' = 2, 'governance' = 3),
  project_id String,
  shard UInt16,
  event_type String,
  window_start DateTime('UTC'),
  dims_key String,
  dims Map(String, String),
  events UInt64,
  value_sum Float64,
  bot_events UInt64,
  bot_value_sum Float64,
  late_events UInt64,
  hll_idx Array(UInt16),
  hll_val Array(UInt8),
  event_id String,
  event_time DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  user_id String,
  value Float64,
  bot UInt8,
  late UInt8,
  reason Enum8('folded' = 1, 'undeclared' = 2, 'too_old' = 3),
  dimension String
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS events_1m (
  project_id LowCardinality(String),
  event_type LowCardinality(String),
  dims_key String,
  window_start DateTime('UTC'),
  dims SimpleAggregateFunction(any, Map(String, String)),
  events SimpleAggregateFunction(sum, UInt64),
  value_sum SimpleAggregateFunction(sum, Float64),
  bot_events SimpleAggregateFunction(sum, UInt64),
  bot_value_sum SimpleAggregateFunction(sum, Float64),
  late_events SimpleAggregateFunction(sum, UInt64),
  users_hll SimpleAggregateFunction(maxMap, Tuple(Array(UInt16), Array(UInt8)))
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(window_start)
ORDER BY (project_id, event_type, dims_key, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 100000, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_1m_mv TO events_1m AS
SELECT project_id, event_type, dims_key, window_start, dims, events, value_sum, bot_events, bot_value_sum, late_events,
       (hll_idx, hll_val) AS users_hll
FROM ingest_landing
WHERE kind = 'rollup';

CREATE TABLE IF NOT EXISTS events_1h (
  project_id LowCardinality(String),
  event_type LowCardinality(String),
  dims_key String,
  window_start DateTime('UTC'),
  dims SimpleAggregateFunction(any, Map(String, String)),
  events SimpleAggregateFunction(sum, UInt64),
  value_sum SimpleAggregateFunction(sum, Float64),
  bot_events SimpleAggregateFunction(sum, UInt64),
  bot_value_sum SimpleAggregateFunction(sum, Float64),
  late_events SimpleAggregateFunction(sum, UInt64),
  users_hll SimpleAggregateFunction(maxMap, Tuple(Array(UInt16), Array(UInt8)))
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, event_type, dims_key, window_start)
TTL window_start + INTERVAL 730 DAY
SETTINGS non_replicated_deduplication_window = 100000, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_1h_mv TO events_1h AS
SELECT m.project_id AS project_id, m.event_type AS event_type, m.dims_key AS dims_key,
       toStartOfHour(m.window_start) AS window_start, any(m.dims) AS dims,
       sum(m.events) AS events, sum(m.value_sum) AS value_sum, sum(m.bot_events) AS bot_events,
       sum(m.bot_value_sum) AS bot_value_sum, sum(m.late_events) AS late_events, maxMap(m.users_hll) AS users_hll
FROM events_1m AS m
GROUP BY m.project_id, m.event_type, m.dims_key, toStartOfHour(m.window_start);

CREATE TABLE IF NOT EXISTS events_1d (
  project_id LowCardinality(String),
  event_type LowCardinality(String),
  dims_key String,
  window_start DateTime('UTC'),
  dims SimpleAggregateFunction(any, Map(String, String)),
  events SimpleAggregateFunction(sum, UInt64),
  value_sum SimpleAggregateFunction(sum, Float64),
  bot_events SimpleAggregateFunction(sum, UInt64),
  bot_value_sum SimpleAggregateFunction(sum, Float64),
  late_events SimpleAggregateFunction(sum, UInt64),
  users_hll SimpleAggregateFunction(maxMap, Tuple(Array(UInt16), Array(UInt8)))
) ENGINE = AggregatingMergeTree
PARTITION BY toYear(window_start)
ORDER BY (project_id, event_type, dims_key, window_start)
TTL window_start + INTERVAL 1825 DAY
SETTINGS non_replicated_deduplication_window = 100000, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_1d_mv TO events_1d AS
SELECT m.project_id AS project_id, m.event_type AS event_type, m.dims_key AS dims_key,
       toStartOfDay(m.window_start) AS window_start, any(m.dims) AS dims,
       sum(m.events) AS events, sum(m.value_sum) AS value_sum, sum(m.bot_events) AS bot_events,
       sum(m.bot_value_sum) AS bot_value_sum, sum(m.late_events) AS late_events, maxMap(m.users_hll) AS users_hll
FROM events_1m AS m
GROUP BY m.project_id, m.event_type, m.dims_key, toStartOfDay(m.window_start);

-- Raw events (RAW_EVENTS=1) for drill-down and `npm run recount`. dims: as
-- sent (undeclared dimensions dropped); dims_key: the key the event was
-- counted under, so a recount matches events_1m rows exactly.
CREATE TABLE IF NOT EXISTS events_raw (
  project_id LowCardinality(String),
  event_type LowCardinality(String),
  event_time DateTime64(3, 'UTC'),
  event_id String,
  received_at DateTime64(3, 'UTC'),
  shard UInt16,
  user_id String,
  dims Map(LowCardinality(String), String),
  dims_key String,
  value Float64,
  bot UInt8,
  late UInt8
) ENGINE = MergeTree
PARTITION BY toDate(event_time)
ORDER BY (project_id, event_type, event_time, event_id)
TTL toDateTime(event_time) + INTERVAL 7 DAY
SETTINGS non_replicated_deduplication_window = 100000, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_raw_mv TO events_raw AS
SELECT project_id, event_type, event_time, event_id, received_at, shard, user_id, dims, dims_key, value, bot, late
FROM ingest_landing
WHERE kind = 'raw';

-- Cardinality governance and edge rejections per minute: events whose
-- dimension value was folded into __other__ (per dimension), events with an
-- undeclared dimension dropped (per dimension), events the edge rejected as
-- too old (dimension '', minute of arrival).
CREATE TABLE IF NOT EXISTS governance_1m (
  project_id LowCardinality(String),
  window_start DateTime('UTC'),
  reason Enum8('folded' = 1, 'undeclared' = 2, 'too_old' = 3),
  dimension LowCardinality(String),
  events SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(window_start)
ORDER BY (project_id, reason, dimension, window_start)
TTL window_start + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 100000, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS governance_1m_mv TO governance_1m AS
SELECT project_id, window_start, reason, dimension, events
FROM ingest_landing
WHERE kind = 'governance';
