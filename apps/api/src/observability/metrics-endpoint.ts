/**
 * Serves the registry at `/metrics` (Prometheus text format), on the API's own port or on a
 * listener of its own (METRICS_PORT), optionally behind `Authorization: Bearer <METRICS_TOKEN>`.
 * Where it is served is decided once, in config.ts (`Config.metrics`; docs/operations.md
 * "Metrics": production never serves it unprotected on the API port).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { toProblem } from '../errors.ts';
import type { Logger } from './logger.ts';
import type { AppMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';

/**
 * Whether an Authorization header carries `token` as a bearer credential. Both sides are hashed
 * first, so the comparison takes the same time whatever the lengths (timingSafeEqual needs equal ones).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}

const UNAUTHENTICATED_DETAIL = 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.';

/** GET /metrics on the API's own port (the Fastify app), behind the token when one is set. */
export function metricsRoute(app: FastifyInstance, metrics: AppMetrics, token: string | undefined): void {
  app.get(
    METRICS_PATH,
    // Prometheus text, not JSON: left out of the OpenAPI document (docs/operations.md describes it).
    { schema: { hide: true } },
    async (request, reply) => {
      if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .type('application/problem+json')
          .send(toProblem('UNAUTHENTICATED', UNAUTHENTICATED_DETAIL, METRICS_PATH));
      }
      const body = await metrics.scrape();
      return reply.type(metrics.contentType).send(body);
    },
  );
}

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

/**
 * A plain HTTP listener serving only GET /metrics (METRICS_PORT), so a firewall or a Kubernetes
 * NetworkPolicy can keep it to Prometheus while the API port is public.
 */
export async function startMetricsListener(options: {
  host: string;
  port: number;
  metrics: AppMetrics;
  token: string | undefined;
  logger: Logger;
}): Promise<MetricsListener> {
  const { metrics, token, logger } = options;
  const problem = (
    res: ServerResponse,
    status: number,
    code: 'NOT_FOUND' | 'UNAUTHENTICATED' | 'INTERNAL',
    detail: string,
  ) => {
    res.writeHead(status, {
      'content-type': 'application/problem+json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="metrics"' } : {}),
    });
    res.end(JSON.stringify(toProblem(code, detail, METRICS_PATH)));
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== METRICS_PATH) {
      problem(res, 404, 'NOT_FOUND', `This port serves only GET ${METRICS_PATH}.`);
      return;
    }
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      problem(res, 401, 'UNAUTHENTICATED', UNAUTHENTICATED_DETAIL);
      return;
    }
    metrics.scrape().then(
      (body) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(body);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'metrics scrape failed');
        problem(res, 500, 'INTERNAL', 'Collecting the metrics failed; it has been logged.');
      },
    );
  });
  // Scrapes are short; an idle keep-alive connection must not hold close() up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
