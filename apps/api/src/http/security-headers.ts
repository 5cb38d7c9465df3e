/**
 * Browser-facing protection of the HTTP API (issue #15): security headers from @fastify/helmet on
 * every response, and CORS answered for exactly the origins in ALLOWED_ORIGINS (the same list the
 * WebSocket upgrade checks) with @fastify/cors. The API answers JSON, so its own policy allows a
 * page nothing (`default-src 'none'`); the API documentation at /docs gets the Swagger UI's policy
 * instead (see the swagger-ui registration in app.ts).
 */
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export async function registerSecurityHeaders(
  app: FastifyInstance,
  allowedOrigins: '*' | ReadonlySet<string>,
): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    // Attachments are fetched through the web app's own origin (its /api/v1 forwarding) or by
    // native apps; a browser page of another allowed origin may still embed them.
    crossOriginResourcePolicy: { policy: 'same-site' },
    // No HSTS from the app: TLS ends at the load balancer, which sets it (docs/operations.md).
    strictTransportSecurity: false,
  });
  await app.register(fastifyCors, {
    // A browser page from an origin not listed gets no CORS headers, so it cannot read answers.
    origin: allowedOrigins === '*' ? true : [...allowedOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key'],
    exposedHeaders: ['retry-after', 'content-disposition'],
    // Bearer tokens, no cookies.
    credentials: false,
    maxAge: 600,
    // Strict mode answers an OPTIONS without Origin or Access-Control-Request-Method with a
    // text/plain 400 ("Invalid Preflight Request"), outside the problem+json catalogue (found by
    // the HTTP fuzz, issue #15). Such a request is no browser preflight: 204, no CORS headers.
    strictPreflight: false,
  });
}

/** The Swagger UI's own policy without `upgrade-insecure-requests` (the docs are served over plain HTTP in development). */
export function docsPolicy(header: string | string[] | number): string {
  return String(header).replace(/\s*upgrade-insecure-requests;?/, '');
}
