/**
 * One schema source for HTTP (issue #18): every route's request and answer schemas come from
 * @anmei/protocol (packages/protocol/src/http/), the module the web app types its calls with.
 * Checked as each route is registered, so a route with a schema written inline here, or without
 * an answer schema, stops the server at start-up instead of drifting from the web app.
 */
import * as protocol from '@anmei/protocol';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';

/** Parts of a route's `schema` that are zod schemas (each must come from the protocol package). */
const PARTS = ['body', 'params', 'querystring', 'headers'] as const;

/** What the check saw of one route: for tests and /docs, not used to serve. */
export interface CheckedRoute {
  method: string;
  url: string;
  /** `schema.hide`: left out of /docs (its own pages, Prometheus text); no answer schema needed. */
  hidden: boolean;
  /** The statuses its answer schemas cover, e.g. ['200', '400', '401']. */
  statuses: string[];
}

/** Every zod schema the protocol package exports, including those inside its route tables. */
function protocolSchemas(): ReadonlySet<unknown> {
  const found = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (value instanceof z.ZodType) found.add(value);
    else if (typeof value === 'object' && value !== null && depth < 4)
      for (const inner of Object.values(value)) visit(inner, depth + 1);
  };
  visit(protocol, 0);
  return found;
}

const checked = new WeakMap<FastifyInstance, CheckedRoute[]>();

/** The routes `app` registered since `requireProtocolSchemas(app)`, as the check saw them. */
export function checkedRoutes(app: FastifyInstance): readonly CheckedRoute[] {
  return checked.get(app) ?? [];
}

/** Installs the check; call before any route is registered. */
export function requireProtocolSchemas(app: FastifyInstance): void {
  const known = protocolSchemas();
  const routes: CheckedRoute[] = [];
  checked.set(app, routes);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const name = `${methods.join(',')} ${route.url}`;
    const schema = (route.schema ?? {}) as Record<string, unknown> & { hide?: boolean };
    const response = (schema.response ?? {}) as Record<string, unknown>;
    const statuses = Object.keys(response);
    const hidden = schema.hide === true;
    const fix =
      'declare it in packages/protocol/src/http/ and use it from @anmei/protocol (docs/architecture.md, "HTTP schemas")';
    for (const part of PARTS) {
      if (schema[part] !== undefined && !known.has(schema[part]))
        throw new Error(`${name}: its ${part} schema is not one of @anmei/protocol's; ${fix}.`);
    }
    for (const [status, answer] of Object.entries(response)) {
      if (!known.has(answer))
        throw new Error(`${name}: its ${status} answer schema is not one of @anmei/protocol's; ${fix}.`);
    }
    if (!hidden && !statuses.some((s) => s.startsWith('2')))
      throw new Error(`${name}: it has no schema for its success answer (schema.response[200]); ${fix}.`);
    for (const method of methods) routes.push({ method, url: route.url, hidden, statuses });
  });
}
