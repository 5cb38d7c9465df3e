/**
 * Client options, their defaults (the seed's device config) and validation. A wrong option
 * fails in the constructor with a message naming the option, the value and what to do.
 */
import type { ConnectionType, DeviceType } from '@anmei/protocol';
import { type Codec, jsonCodec } from './codec.ts';
import { detectDeviceType, getWebSocketDeviceConfig } from './device.ts';
import { browserEnvironment, type EnvironmentTargets } from './environment.ts';
import type { OutboxOptions } from './outbox.ts';
import type { WebSocketConstructor } from './socket-types.ts';
import { type FetchLike, type GetTicket, type GetToken, httpTicketSource } from './ticket-source.ts';
import { type Clock, systemClock, systemTimers, type Timers } from './timers.ts';

export interface ClientOptions {
  /** WebSocket origin of the API, e.g. `ws://localhost:8000` (seed: NEXT_PUBLIC_WS_URL). Required. */
  url: string;
  /** Path of the WebSocket endpoint; used when `url` has no path. Default `/api/v1/ws`. */
  path?: string;
  /** Gives a fresh single-use ticket; called before every attempt. Give this or `getToken`. */
  getTicket?: GetTicket;
  /** Gives the access token; the client then POSTs `{apiUrl}/api/v1/ws/ticket` itself. */
  getToken?: GetToken;
  /** HTTP origin for the ticket request. Default: `url` with ws->http, wss->https. */
  apiUrl?: string;
  /** `chat` (default) or `admin`. */
  connectionType?: ConnectionType;
  /** Sent as `device_type`. Default: detected from the user agent (desktop in Node). */
  deviceType?: DeviceType;
  /** Max ms from starting an attempt (ticket included) to the `connected` frame. Default 20000. */
  connectionTimeout?: number;
  /** Idle ms before the client sends a `ping` frame. Default 45000. */
  heartbeatInterval?: number;
  /** Ms to wait for any frame after a ping before the connection counts as dead. Default 10000. */
  heartbeatTimeout?: number;
  /** Ceiling of the first reconnect delay, ms (doubles per retry, full jitter). Default 2000. */
  reconnectInterval?: number;
  /** Largest reconnect delay ceiling, ms. Default 30000. */
  maxReconnectDelay?: number;
  /** Retries before `failed`. Default 15. */
  maxReconnectAttempts?: number;
  /** Ms a connection must stay open before the retry counter resets. Default 10000. */
  stableConnectionTime?: number;
  /**
   * Ms a conversation's read receipts wait after one went out, to go together as one frame
   * (read-receipts.ts: the first goes at once, the rest at most this late). 0 sends each at once.
   * Default 1000.
   */
  readReceiptInterval?: number;
  /** Outbox limits; see OutboxOptions for each default. */
  outbox?: Partial<OutboxOptions>;
  /**
   * Track positions and, after every (re)connect, ask the server to replay what was missed;
   * drop duplicates and hold out-of-order frames until the gap is filled. Default true.
   */
  resume?: boolean;
  /** Serializer. Default: JSON validated against the protocol schemas. */
  codec?: Codec;
  /** WebSocket implementation. Default `globalThis.WebSocket`; in Node pass `ws`. */
  WebSocket?: WebSocketConstructor;
  /** Used for the ticket request when `getToken` is given. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** window/document to watch for online/offline/visibility/pagehide. Default: the browser's; null = none. */
  environment?: EnvironmentTargets | null;
  clock?: Clock;
  timers?: Timers;
  /** Uniform [0,1) source for jitter. Default `Math.random`. */
  random?: () => number;
}

export interface ResolvedOptions {
  resume: boolean;
  endpoint: URL;
  getTicket: GetTicket;
  connectionType: ConnectionType;
  deviceType: DeviceType;
  connectionTimeout: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  reconnectInterval: number;
  maxReconnectDelay: number;
  maxReconnectAttempts: number;
  stableConnectionTime: number;
  readReceiptInterval: number;
  outbox: OutboxOptions;
  codec: Codec;
  WebSocket: WebSocketConstructor | undefined;
  environment: EnvironmentTargets | null;
  clock: Clock;
  timers: Timers;
  random: () => number;
}

export const OUTBOX_DEFAULTS: Readonly<OutboxOptions> = Object.freeze({
  maxMessages: 100,
  maxBytes: 1_048_576,
  ttlMs: 300_000,
  overflow: 'reject-new',
  maxInFlight: 32,
});

export const CLIENT_DEFAULTS = Object.freeze({
  path: '/api/v1/ws',
  connectionType: 'chat' as ConnectionType,
  ...getWebSocketDeviceConfig(),
  heartbeatTimeout: 10_000,
  maxReconnectAttempts: 15,
  stableConnectionTime: 10_000,
  readReceiptInterval: 1000,
});

function fail(message: string): never {
  throw new TypeError(`@anmei/client: ${message}`);
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min)
    fail(`option "${name}" must be a number >= ${min}, got ${String(value)}.`);
  return value;
}

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options.url !== 'string' || !/^wss?:\/\//i.test(options.url)) {
    fail(
      `option "url" must start with ws:// or wss://, got ${JSON.stringify(options.url)} (e.g. NEXT_PUBLIC_WS_URL=ws://localhost:8000).`,
    );
  }
  const endpoint = new URL(options.url);
  if (endpoint.pathname === '/' || endpoint.pathname === '') endpoint.pathname = options.path ?? CLIENT_DEFAULTS.path;
  if (!options.getTicket === !options.getToken) {
    fail('give exactly one of the options "getTicket" (returns a ws ticket) or "getToken" (returns an access token).');
  }
  let getTicket = options.getTicket;
  if (!getTicket && options.getToken) {
    if (!options.fetch && typeof globalThis.fetch !== 'function') {
      fail('option "getToken" needs fetch: pass the "fetch" option (there is no global fetch here).');
    }
    // Called through a wrapper: browsers throw "Illegal invocation" for a detached window.fetch.
    const fetchImpl: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    const apiUrl = options.apiUrl ?? `${endpoint.protocol === 'wss:' ? 'https:' : 'http:'}//${endpoint.host}`;
    getTicket = httpTicketSource({ apiUrl, getToken: options.getToken, fetch: fetchImpl });
  }
  const outbox = { ...OUTBOX_DEFAULTS, ...options.outbox };
  if (outbox.overflow !== 'reject-new' && outbox.overflow !== 'drop-oldest') {
    fail(`option "outbox.overflow" must be "reject-new" or "drop-oldest", got ${JSON.stringify(outbox.overflow)}.`);
  }
  return {
    resume: options.resume ?? true,
    endpoint,
    getTicket: getTicket!,
    connectionType: options.connectionType ?? CLIENT_DEFAULTS.connectionType,
    deviceType: options.deviceType ?? detectDeviceType(),
    connectionTimeout: count('connectionTimeout', options.connectionTimeout, CLIENT_DEFAULTS.connectionTimeout, 1),
    heartbeatInterval: count('heartbeatInterval', options.heartbeatInterval, CLIENT_DEFAULTS.heartbeatInterval, 1),
    heartbeatTimeout: count('heartbeatTimeout', options.heartbeatTimeout, CLIENT_DEFAULTS.heartbeatTimeout, 1),
    reconnectInterval: count('reconnectInterval', options.reconnectInterval, CLIENT_DEFAULTS.reconnectInterval, 0),
    maxReconnectDelay: count('maxReconnectDelay', options.maxReconnectDelay, CLIENT_DEFAULTS.maxReconnectDelay, 0),
    maxReconnectAttempts: count(
      'maxReconnectAttempts',
      options.maxReconnectAttempts,
      CLIENT_DEFAULTS.maxReconnectAttempts,
      0,
    ),
    stableConnectionTime: count(
      'stableConnectionTime',
      options.stableConnectionTime,
      CLIENT_DEFAULTS.stableConnectionTime,
      0,
    ),
    readReceiptInterval: count(
      'readReceiptInterval',
      options.readReceiptInterval,
      CLIENT_DEFAULTS.readReceiptInterval,
      0,
    ),
    outbox: {
      ...outbox,
      maxMessages: count('outbox.maxMessages', outbox.maxMessages, OUTBOX_DEFAULTS.maxMessages, 1),
      maxBytes: count('outbox.maxBytes', outbox.maxBytes, OUTBOX_DEFAULTS.maxBytes, 1),
      ttlMs: count('outbox.ttlMs', outbox.ttlMs, OUTBOX_DEFAULTS.ttlMs, 1),
      maxInFlight: count('outbox.maxInFlight', outbox.maxInFlight, OUTBOX_DEFAULTS.maxInFlight, 1),
    },
    codec: options.codec ?? jsonCodec,
    WebSocket: options.WebSocket,
    environment: options.environment === undefined ? browserEnvironment() : options.environment,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    random: options.random ?? Math.random,
  };
}
