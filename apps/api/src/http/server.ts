/**
 * The Fastify instance of the HTTP API, before its routes: server options (timeouts, body limit,
 * request ids, trusted proxies), the hooks every request passes, validation and problem+json
 * answers, security headers and CORS, the OpenAPI document at /docs, and multipart uploads.
 * app.ts adds the rate limits and the routes.
 */
import { randomUUID } from 'node:crypto';
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../config.ts';
import { withLogContext } from '../observability/log-context.ts';
import type { Logger } from '../observability/logger.ts';
import { decorateUser } from './auth-guard.ts';
import type { ClientAddress } from './client-address.ts';
import { answerFrameworkError, installProblemHandlers } from './problem-handler.ts';
import { answerClientError } from './raw-problem.ts';
import { requireProtocolSchemas } from './route-schemas.ts';
import { docsPolicy, registerSecurityHeaders } from './security-headers.ts';

/** An incoming X-Request-Id used as the request's id: short, and no characters that need escaping. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function createHttpServer(
  config: Config,
  logger: Logger,
  clientAddress: ClientAddress,
): Promise<FastifyInstance> {
  const idleTimeoutMs = config.ws.connectionTimeoutMs;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // No child logger per request: the log context adds `reqId` to every line written while the
    // request is handled, whoever writes it (observability/log-context.ts).
    childLoggerFactory: (root) => root,
    // nginx's `$request_id` (deploy/nginx.conf) when it looks like one, so a request has one id
    // from the proxy's access log to ours; a fresh UUID otherwise.
    genReqId: (req) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    // Per-request lines are noise at the seed's INFO level; errors are logged by the problem handler.
    logController: new LogController({ disableRequestLogging: true }),
    // No socket timer from the server (`server.timeout`): ws clears it on upgrade, but Node keeps
    // the cleared timer on the socket and refreshes it on every write to the WebSocket.
    connectionTimeout: 0,
    http: {
      // WS_CONNECTION_TIMEOUT bounds how long a client may take to send its request headers, so
      // the whole upgrade request (slow-loris protection). Node checks every connection from one
      // interval, at most a quarter of the timeout apart, instead of a timer per socket.
      headersTimeout: idleTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(idleTimeoutMs / 4))),
      // Disabled as before (Fastify's default); the idle timeout below covers a stalled body.
      requestTimeout: 0,
    },
    bodyLimit: 1024 * 1024,
    frameworkErrors: answerFrameworkError,
    // Requests Node's parser refuses get a catalogued problem+json too (raw-problem.ts).
    clientErrorHandler: answerClientError,
    // `request.ip` is the client behind the proxies TRUST_PROXY names (the same rule as upgrades).
    trustProxy: clientAddress.isTrusted,
  });
  // Plain HTTP requests keep the idle timeout (WS_CONNECTION_TIMEOUT ms without traffic closes the
  // socket). Upgrade requests never reach Fastify's hooks, so WebSockets carry no timer.
  // First hook: everything after it (hooks, handler, what they start) logs with the request's id.
  app.addHook('onRequest', (request, reply, done) => {
    request.raw.socket.setTimeout(idleTimeoutMs);
    reply.header('x-request-id', request.id);
    withLogContext({ reqId: request.id }, done);
  });
  // Before any route: each one's schemas must come from @anmei/protocol (one source with the web app).
  requireProtocolSchemas(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);
  decorateUser(app);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'AnmeiSmart Realtime API',
        version: '0.1.0',
        description: 'HTTP API of the realtime backbone. The WebSocket protocol is described in docs/protocol.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await registerSecurityHeaders(app, config.ws.allowedOrigins);
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true, transformStaticCSP: docsPolicy });
  // One file per request; other limits keep a multipart body small apart from the file itself.
  await app.register(fastifyMultipart, {
    limits: { fileSize: config.attachments.maxBytes, files: 1, fields: 5, fieldSize: 4096, parts: 8 },
  });
  return app;
}
