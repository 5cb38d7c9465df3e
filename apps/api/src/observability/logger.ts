/**
 * pino at the seed's levels: INFO connect/disconnect, broadcast done, push; DEBUG routing
 * and device detail; WARN push failures, config problems; ERROR exceptions, Redis failures.
 * Tokens, tickets, passwords and message bodies are never logged at INFO.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Query parameters that carry credentials; their values are replaced in any logged URL. */
const SECRET_QUERY = /([?&](?:ticket|token|access_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

export function createLogger(options: { level: string; instanceId: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { instance: options.instanceId },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.access_token',
          '*.ticket',
          'password',
          'access_token',
          'ticket',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({
          method: req.method,
          url: req.url ? redactUrl(req.url) : undefined,
          id: req.id,
        }),
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
