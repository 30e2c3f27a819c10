/**
 * Settings of the aggregation core (ShardAggregator), read from the Worker's
 * string vars. Pure; bad values fail loudly, like core/config.ts.
 */
import { integerVar } from './config.ts';
import { readConfig, type ConfigVars } from './config.ts';

export interface AggregationVars extends ConfigVars {
  PANE_SECONDS?: string;
  MAX_DIMENSION_VALUES?: string;
  DEDUP_HORIZON_SECONDS?: string;
  MAX_BACKLOG_ROWS?: string;
  RAW_EVENTS?: string;
}

export interface AggregationConfig {
  /** Pane length: the unit of live totals and sliding windows. */
  paneMs: number;
  /** Seal window: a window is sealed (flushed) as a whole once closed. */
  windowMs: number;
  allowedLatenessMs: number;
  flushIntervalMs: number;
  /** K: distinct values per dimension per minute before values fold into `__other__`. */
  maxDimensionValues: number;
  /** Retries of an eventId inside this horizon count once. */
  dedupHorizonMs: number;
  /** Unflushed pane rows + sealed rows at which ingest answers backpressure. */
  maxBacklogRows: number;
  /** Also write every accepted event to `events_raw` (drill-down, recount). */
  rawEvents: boolean;
}

/** The sibling ingestion issue requires at least 10 minutes. */
export const MIN_DEDUP_HORIZON_SECONDS = 600;

export function readAggregationConfig(vars: AggregationVars): AggregationConfig {
  const base = readConfig(vars);
  const paneSeconds = integerVar('PANE_SECONDS', vars.PANE_SECONDS, 10, 1, 60);
  // Panes tile the seal window, which tiles the minute rows in ClickHouse.
  if ((base.windowMs / 1000) % paneSeconds !== 0) {
    throw new Error(`Configuration PANE_SECONDS=${paneSeconds} must divide WINDOW_SECONDS=${base.windowMs / 1000} (and so 60).`);
  }
  const raw = vars.RAW_EVENTS ?? '';
  if (raw !== '' && raw !== '0' && raw !== '1') throw new Error(`Configuration RAW_EVENTS=${JSON.stringify(raw)} must be "0" or "1".`);
  return {
    paneMs: paneSeconds * 1000,
    windowMs: base.windowMs,
    allowedLatenessMs: base.allowedLatenessMs,
    flushIntervalMs: base.flushIntervalMs,
    maxDimensionValues: integerVar('MAX_DIMENSION_VALUES', vars.MAX_DIMENSION_VALUES, 100, 1, 10_000),
    dedupHorizonMs: integerVar('DEDUP_HORIZON_SECONDS', vars.DEDUP_HORIZON_SECONDS, 600, MIN_DEDUP_HORIZON_SECONDS, 7 * 86_400) * 1000,
    maxBacklogRows: integerVar('MAX_BACKLOG_ROWS', vars.MAX_BACKLOG_ROWS, 250_000, 1, 100_000_000),
    rawEvents: raw === '1',
  };
}

