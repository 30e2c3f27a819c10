import { Hono } from 'hono';
import { READ_KINDS } from '../core/keys.ts';
import type { AppEnv } from './app-env.ts';
import { requireAdmin, requireKey } from './auth.ts';
import { apiCors } from './cors.ts';
import { handleError, handleNotFound } from './errors.ts';
import { createKey, createProject, revokeKey } from './routes/admin.ts';
import { postEvents } from './routes/events.ts';
import { getDataQuality } from './routes/data-quality.ts';
import { getHealth } from './routes/health.ts';
import { getLive } from './routes/live.ts';
import { postLiveToken } from './routes/live-token.ts';
import { getCatalog, getMetrics } from './routes/metrics.ts';
import { getActiveUsers } from './query/active-users.ts';
import { postSegmentBatch, postSegmentMessage, SEGMENT_MESSAGE_PATHS } from './routes/segment.ts';

export { Broadcast } from '../durable-objects/Broadcast.ts';
export { Combiner } from '../durable-objects/Combiner.ts';
export { LiveRelay } from '../durable-objects/LiveRelay.ts';
export { ProjectRegistry } from '../durable-objects/ProjectRegistry.ts';
export { ShardAggregator } from '../durable-objects/ShardAggregator.ts';

export const app = new Hono<AppEnv>();

app.use('/v1/*', apiCors());

app.post('/v1/events', postEvents);
// Segment Tracking API: batch, single calls, and analytics.js's one-letter short paths.
app.post('/v1/batch', postSegmentBatch);
app.post('/v1/b', postSegmentBatch);
app.on('POST', SEGMENT_MESSAGE_PATHS, postSegmentMessage);
app.get('/v1/metrics', requireKey(READ_KINDS), getMetrics);
app.get('/v1/catalog', requireKey(READ_KINDS), getCatalog);
app.get('/v1/active-users', requireKey(READ_KINDS), getActiveUsers);
app.get('/v1/data-quality', requireKey(READ_KINDS), getDataQuality);
// Viewer token or read key; getLive checks either (a token before any Durable Object is touched).
app.get('/v1/live', getLive);
app.post('/v1/live/token', requireKey(READ_KINDS), postLiveToken);
app.get('/v1/health', requireKey(READ_KINDS), getHealth);
app.post('/v1/admin/projects', requireAdmin(), createProject);
app.post('/v1/admin/projects/:projectId/keys', requireAdmin(), createKey);
app.post('/v1/admin/keys/revoke', requireAdmin(), revokeKey);
app.get('/health', (c) => c.json({ status: 'ok', time: new Date().toISOString() }));
app.notFound(handleNotFound);
app.onError(handleError);

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
