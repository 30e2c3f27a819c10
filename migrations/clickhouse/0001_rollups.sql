-- Per-minute rollups written by the Workers (one row per project, event type,
-- minute and dimension set).
--
-- SummingMergeTree: rows are additive per window. Background merges sum
-- events / value_sum / late_events for rows sharing the ORDER BY key, and late
-- data is written as extra adjustment rows for an already-flushed window rather
-- than rewriting it. Merges are eventual, so readers must always aggregate
-- (sum(...) ... GROUP BY), never trust a single row.
--
-- dims_key: canonical form of dims, the keys sorted and joined as
-- `k=v&k2=v2` with values URI-encoded. It is part of the sorting key so rows
-- for the same dimension set collapse together; dims keeps the map for querying.
--
-- non_replicated_deduplication_window: makes insert_deduplication_token work on
-- this non-replicated table, so a retried flush with the same token is written
-- once. (It also deduplicates token-less inserts whose block is byte-identical
-- to a recent one, so always send a token.) On ReplicatedMergeTree use
-- replicated_deduplication_window instead.
CREATE TABLE IF NOT EXISTS events_1m (
  project_id LowCardinality(String),
  event_type LowCardinality(String),
  window_start DateTime('UTC'),
  dims_key String,
  dims Map(LowCardinality(String), String),
  events UInt64,
  value_sum Float64,
  late_events UInt64
) ENGINE = SummingMergeTree((events, value_sum, late_events))
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, event_type, window_start, dims_key)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;
