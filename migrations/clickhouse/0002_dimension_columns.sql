-- Query speed: the dashboard's filter dimensions as LowCardinality columns of
-- every rollup, so a filter (`country=US`) or a breakdown (`groupBy=campaignId`)
-- reads one small dictionary-encoded column instead of the whole dims map
-- (core/metrics-sql.ts MATERIALIZED_DIMENSIONS; bench/query.ts measures it).
-- country and deviceType are added by the edge to every event; campaignId is
-- the seed's drill-down dimension. Other dimensions still read dims[...].
--
-- MATERIALIZED: computed from dims on insert (the materialized views never
-- name them), never sent by a client, not in SELECT *. Parts written before
-- this migration compute the value on read until MATERIALIZE COLUMN (a
-- mutation: synchronous in chdb, in the background on a server) rewrites them,
-- so answers are the same throughout. Every statement is idempotent.
ALTER TABLE events_1m ADD COLUMN IF NOT EXISTS dim_country LowCardinality(String) MATERIALIZED dims['country'];
ALTER TABLE events_1m ADD COLUMN IF NOT EXISTS dim_device_type LowCardinality(String) MATERIALIZED dims['deviceType'];
ALTER TABLE events_1m ADD COLUMN IF NOT EXISTS dim_campaign_id LowCardinality(String) MATERIALIZED dims['campaignId'];
ALTER TABLE events_1h ADD COLUMN IF NOT EXISTS dim_country LowCardinality(String) MATERIALIZED dims['country'];
ALTER TABLE events_1h ADD COLUMN IF NOT EXISTS dim_device_type LowCardinality(String) MATERIALIZED dims['deviceType'];
ALTER TABLE events_1h ADD COLUMN IF NOT EXISTS dim_campaign_id LowCardinality(String) MATERIALIZED dims['campaignId'];
ALTER TABLE events_1d ADD COLUMN IF NOT EXISTS dim_country LowCardinality(String) MATERIALIZED dims['country'];
ALTER TABLE events_1d ADD COLUMN IF NOT EXISTS dim_device_type LowCardinality(String) MATERIALIZED dims['deviceType'];
ALTER TABLE events_1d ADD COLUMN IF NOT EXISTS dim_campaign_id LowCardinality(String) MATERIALIZED dims['campaignId'];
ALTER TABLE events_1m MATERIALIZE COLUMN dim_country;
ALTER TABLE events_1m MATERIALIZE COLUMN dim_device_type;
ALTER TABLE events_1m MATERIALIZE COLUMN dim_campaign_id;
ALTER TABLE events_1h MATERIALIZE COLUMN dim_country;
ALTER TABLE events_1h MATERIALIZE COLUMN dim_device_type;
ALTER TABLE events_1h MATERIALIZE COLUMN dim_campaign_id;
ALTER TABLE events_1d MATERIALIZE COLUMN dim_country;
ALTER TABLE events_1d MATERIALIZE COLUMN dim_device_type;
ALTER TABLE events_1d MATERIALIZE COLUMN dim_campaign_id;
