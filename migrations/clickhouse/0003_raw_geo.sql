-- Where the edge placed each raw event beyond its geo dimensions: city,
-- Cloudflare colo, IANA time zone and ASN. Too many distinct values for the
-- rollups (they would multiply every row), useful for drill-down per event,
-- so they live in events_raw only (TTL 7 days, RAW_EVENTS=1). Browser
-- (public) keys only: for server keys request.cf locates the customer's
-- server, so the columns stay '' / 0. The shard writes them on the raw
-- landing row (core/rollup-rows.ts RawLandingRow) from the edge's per-event
-- `geo` field; rows from before read '' / 0.
--
-- The view's query names its columns, so it is replaced by one naming the new
-- ones too: MODIFY QUERY changes it in place, without a moment in which
-- inserted blocks would find no view. Every statement is idempotent.
ALTER TABLE ingest_landing ADD COLUMN IF NOT EXISTS city String DEFAULT '';
ALTER TABLE ingest_landing ADD COLUMN IF NOT EXISTS colo String DEFAULT '';
ALTER TABLE ingest_landing ADD COLUMN IF NOT EXISTS timezone String DEFAULT '';
ALTER TABLE ingest_landing ADD COLUMN IF NOT EXISTS asn UInt32 DEFAULT 0;
ALTER TABLE events_raw ADD COLUMN IF NOT EXISTS city LowCardinality(String) DEFAULT '';
ALTER TABLE events_raw ADD COLUMN IF NOT EXISTS colo LowCardinality(String) DEFAULT '';
ALTER TABLE events_raw ADD COLUMN IF NOT EXISTS timezone LowCardinality(String) DEFAULT '';
ALTER TABLE events_raw ADD COLUMN IF NOT EXISTS asn UInt32 DEFAULT 0;
ALTER TABLE events_raw_mv MODIFY QUERY
SELECT project_id, event_type, event_time, event_id, received_at, shard, user_id, dims, dims_key, value, bot, late, city, colo, timezone, asn
FROM ingest_landing
WHERE kind = 'raw';
