/**
 * pino at the seed's levels: INFO connect/disconnect, broadcast done, push; DEBUG routing
 * and device detail; WARN push failures, config problems; ERROR exceptions, Redis failures.
 * Every line carries the instance, and the request's or connection's ids while one is being
 * handled (log-context.ts). Tokens, tickets and passwords are never logged; in production
 * (`redactBodies`) neither are message bodies, at any level (docs/operations.md "Logs").
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { logContextMixin } from './log-context.ts';

export type { Logger };

/** Query parameters that carry credentials; their values are replaced in any logged URL. */
const SECRET_QUERY = /([?&](?:ticket|token|access_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

/** Fields that hold a credential wherever they appear (top level or one object down). */
const SECRET_FIELDS = ['password', 'access_token', 'ticket', 'token', 'authorization'];
/** Fields that hold what a user wrote: redacted in production. */
const BODY_FIELDS = ['content', 'body'];

export function createLogger(options: {
  level: string;
  instanceId: string;
  destination?: DestinationStream;
  /** Production: message bodies never reach the log (body fields, statement parameters in errors). */
  redactBodies?: boolean;
}): Logger {
  const redactBodies = options.redactBodies ?? false;
  const fields = redactBodies ? [...SECRET_FIELDS, ...BODY_FIELDS] : SECRET_FIELDS;
  return pino(
    {
      level: options.level,
      base: { instance: options.instanceId },
      mixin: logContextMixin,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', ...fields, ...fields.map((f) => `*.${f}`)],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({
          method: req.method,
          url: req.url ? redactUrl(req.url) : undefined,
          id: req.id,
        }),
        err: redactBodies
          ? (err: unknown) => pino.stdSerializers.err(withoutParams(err) as Error)
          : pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}

/**
 * `err` and its causes without drizzle's statement parameters (DrizzleQueryError's `params`, also
 * spelled out at the end of its message and stack): they hold message bodies, push tokens and
 * password hashes. The SQL text stays; it has only placeholders. Returns `err` itself when it
 * carries none.
 */
export function withoutParams(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 8) return err;
  const { params, cause } = err as Error & { params?: unknown };
  const cleanCause = withoutParams(cause, depth + 1);
  if (params === undefined && cleanCause === cause) return err;
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error & Record<string, unknown>;
  for (const key of Object.keys(err))
    if (key !== 'params') copy[key] = (err as unknown as Record<string, unknown>)[key];
  copy.name = err.name;
  copy.message = err.message;
  copy.stack = err.stack;
  if (params !== undefined) {
    const count = Array.isArray(params) ? params.length : '?';
    copy.message = err.message.replace(/\nparams: [\s\S]*$/, `\nparams: [redacted, ${count} values]`);
    copy.stack = err.stack?.replace(err.message, copy.message);
  }
  if (cause !== undefined) copy.cause = cleanCause;
  return copy;
}
