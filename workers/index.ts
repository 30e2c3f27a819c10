import { Hono } from 'hono';
import type { AppEnv } from './app-env.ts';
import { handleError, handleNotFound } from './errors.ts';
import { postEvents } from './routes/events.ts';
import { getLive } from './routes/live.ts';
import { getCatalog, getMetrics } from './routes/metrics.ts';

export { Broadcast } from '../durable-objects/Broadcast.ts';
export { ShardAggregator } from '../durable-objects/ShardAggregator.ts';

export const app = new Hono<AppEnv>();

app.post('/v1/events', postEvents);
app.get('/v1/metrics', getMetrics);
app.get('/v1/catalog', getCatalog);
app.get('/v1/live', getLive);
app.get('/health', (c) => c.json({ status: 'ok', time: new Date().toISOString() }));
app.notFound(handleNotFound);
app.onError(handleError);

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
