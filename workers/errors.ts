import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';

/** An error meant for the client: its code and message are safe to show. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** The one place errors become responses: known ones as JSON, unknown ones as a generic 500 (no stack traces). */
export function handleError(error: Error, c: Context): Response {
  if (error instanceof ApiError) {
    return c.json(errorBody(error.code, error.message), error.status, error.headers);
  }
  if (error instanceof HTTPException) {
    return c.json(errorBody('http_error', error.message || 'Request failed.'), error.status);
  }
  console.error('Unhandled error', c.req.method, c.req.path, error);
  return c.json(errorBody('internal_error', 'Internal error. The request was not processed.'), 500);
}

export function handleNotFound(c: Context): Response {
  return c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}.`), 404);
}
