/**
 * In-process typed events (the seed's core/events.py): lets observability, stats and
 * notifications react to what the gateway and broadcasting do without those modules
 * importing each other. Event names and payloads come from one map, so a misspelt event or
 * a wrong payload is a type error, not a silent no-op. The emitter is @anmei/protocol's
 * TypedEmitter, the one the client uses too (docs/architecture.md, "One typed emitter").
 */
import { TypedEmitter } from '@anmei/protocol';
import type { MessageRow } from './db/store-types.ts';
import type { ConnectionInfo } from './realtime/types.ts';

export interface AppEventMap {
  'connection.opened': { connection: ConnectionInfo };
  /** `code` is the WebSocket close code, `reason` its close reason text. */
  'connection.closed': { connection: ConnectionInfo; code: number; reason: string };
  'message.created': { message: MessageRow };
  /** `recipients` = users targeted; `durationMs` = wall time of the broadcast in milliseconds. */
  'broadcast.completed': { kind: string; recipients: number; durationMs: number };
  /** A broadcast failed (logged as `broadcast failed`); the caller got `{ok: false}`. */
  'broadcast.failed': { kind: string };
}

export type AppEvents = TypedEmitter<AppEventMap>;
/** The API's name for the shared emitter: `new TypedEvents<AppEventMap>({ onListenerError })`. */
export { TypedEmitter as TypedEvents };
