import { createClient, type ClickHouseClient } from '@clickhouse/client-web';

export interface ClickHouseEnv {
  CLICKHOUSE_URL: string;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_DATABASE: string;
  CLICKHOUSE_PASSWORD?: string;
}

/** One client per use: Workers must not share I/O objects across requests. */
export function clickHouseClient(env: ClickHouseEnv): ClickHouseClient {
  return createClient({
    url: env.CLICKHOUSE_URL,
    username: env.CLICKHOUSE_USER,
    // Unset or empty secret means the server has no password (local dev).
    password: env.CLICKHOUSE_PASSWORD || '',
    database: env.CLICKHOUSE_DATABASE,
    request_timeout: 15_000,
  });
}
