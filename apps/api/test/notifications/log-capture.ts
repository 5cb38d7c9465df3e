/** A pino logger writing to memory, so tests can assert the exact records a module logs. */
import { type Logger, pino } from 'pino';

export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export function captureLogs(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  // A plain `write` destination: pino writes synchronously, so records are there when the call returns.
  const stream = { write: (line: string) => records.push(JSON.parse(line) as LogRecord) };
  return { logger: pino({ level: 'debug' }, stream), records };
}
