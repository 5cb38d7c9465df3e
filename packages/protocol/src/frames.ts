/**
 * Every frame in both directions. Server frames have the seed's shape `{action, data}`
 * plus `timestamp`; client frames are `{action, data, request_id?}`.
 */
import { z } from 'zod';
import { type ErrorCode, ErrorCodes } from './codes.ts';
import { CONNECTION_TYPES, DEVICE_TYPES, LIMITS, MESSAGE_TYPES, ROLES } from './domain.ts';
import {
  ConsultationReplyPayload,
  DirectMessagePayload,
  Id,
  IsoDate,
  MessagePayload,
  MessageSent,
  MobileNotificationPayload,
  ReadStatusPayload,
  SendMessageInput,
  SystemNotificationPayload,
  TypingStatusPayload,
} from './payloads.ts';
import { Position } from './storable.ts';

// ---------------------------------------------------------------- client -> server

/** Actions a client may send. */
export const ClientAction = {
  sendMessage: 'send_message',
  typing: 'typing',
  read: 'read',
  ping: 'ping',
  resume: 'resume',
  /** "Tell me when these users come online or go offline": replaces the socket's watch list. */
  watchPresence: 'watch_presence',
} as const;
export type ClientAction = (typeof ClientAction)[keyof typeof ClientAction];

const RequestId = z.string().min(1).max(64);

export const SendMessageFrame = z.strictObject({
  action: z.literal(ClientAction.sendMessage),
  request_id: RequestId.optional(),
  // The input HTTP send takes too (payloads.ts), addressed to a conversation.
  data: z.strictObject({ conversation_id: Id, ...SendMessageInput.shape }),
});

export const TypingFrame = z.strictObject({
  action: z.literal(ClientAction.typing),
  request_id: RequestId.optional(),
  data: z.strictObject({ conversation_id: Id, is_typing: z.boolean() }),
});

export const ReadFrame = z.strictObject({
  action: z.literal(ClientAction.read),
  request_id: RequestId.optional(),
  data: z.strictObject({
    conversation_id: Id,
    message_ids: z.array(Id).min(1).max(LIMITS.readReceiptMaxIds),
  }),
});

export const PingFrame = z.strictObject({
  action: z.literal(ClientAction.ping),
  request_id: RequestId.optional(),
  data: z.strictObject({ ts: z.number().optional() }).optional(),
});

/**
 * "This is what I have seen": the server replays everything after these positions, in order,
 * before live frames continue, then answers `resumed`. Also used mid-session to fill a gap.
 */
export const ResumeFrame = z.strictObject({
  action: z.literal(ClientAction.resume),
  request_id: RequestId.optional(),
  data: z.strictObject({
    conversations: z
      .array(z.strictObject({ conversation_id: Id, last_seq: Position, last_event_seq: Position }))
      .max(LIMITS.resumeMaxConversations),
    /** Last direct-message position seen (from `connected` on a first connect). */
    user_seq: Position.optional(),
    /** Last global-notice position seen (from `connected` on a first connect). */
    global_seq: Position.optional(),
  }),
});

/**
 * The users whose online state this socket wants to follow; each frame replaces the list (an empty
 * list stops it). Answered by a `presence` frame with their state now; later changes follow as
 * `presence` frames. Users who share no conversation with the caller are left out (admins see all).
 */
export const WatchPresenceFrame = z.strictObject({
  action: z.literal(ClientAction.watchPresence),
  request_id: RequestId.optional(),
  data: z.strictObject({ user_ids: z.array(Id).max(LIMITS.presenceWatchMax) }),
});

export const ClientFrame = z.discriminatedUnion('action', [
  SendMessageFrame,
  TypingFrame,
  ReadFrame,
  PingFrame,
  ResumeFrame,
  WatchPresenceFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type SendMessageFrame = z.infer<typeof SendMessageFrame>;
export type TypingFrame = z.infer<typeof TypingFrame>;
export type ReadFrame = z.infer<typeof ReadFrame>;
export type PingFrame = z.infer<typeof PingFrame>;
export type ResumeFrame = z.infer<typeof ResumeFrame>;
export type WatchPresenceFrame = z.infer<typeof WatchPresenceFrame>;

// ---------------------------------------------------------------- server -> client

/** Actions the server sends. */
export const ServerAction = {
  connected: 'connected',
  newMessage: 'new_message',
  consultationReply: 'consultation_reply',
  typingStatus: 'typing_status',
  readStatus: 'read_status',
  systemNotification: 'system_notification',
  directMessage: 'direct_message',
  mobileNotification: 'mobile_notification',
  pong: 'pong',
  ack: 'ack',
  error: 'error',
  /** The server is draining: reconnect (through the load balancer) after `retry_after_ms`. */
  reconnect: 'reconnect',
  /** Answer to `resume`, sent after the replayed frames. */
  resumed: 'resumed',
  /** Live figures for admin connections, every STATS_INTERVAL ms. */
  stats: 'stats',
  /**
   * A conversation event at this `event_seq` is not for this socket (a mobile-only notice on a
   * desktop, the reader's own read receipt): move the event position, show nothing. It keeps
   * every socket's event stream gap-free, so a jump is always a real loss.
   */
  eventSkipped: 'event_skipped',
  /** The heads of the user's streams now: `resume` every stream you are behind on. */
  positions: 'positions',
  /** Online state of watched users: the answer to `watch_presence` (with its request_id), then each change. */
  presence: 'presence',
} as const;
export type ServerAction = (typeof ServerAction)[keyof typeof ServerAction];

function serverFrame<A extends ServerAction, D extends z.ZodType>(action: A, data: D) {
  return z.object({ action: z.literal(action), data, timestamp: IsoDate });
}

/**
 * A single-use ticket for this client's next upgrade, so a reconnect needs no HTTP ticket (issue
 * #19). Absent when the server issues none (WS_RESUME_TICKET_TTL=0, or an older server). Valid
 * `resume_ticket_ttl_ms` from when the frame was sent; renewed in a `pong` at half its life.
 */
const ResumeTicketFields = {
  resume_ticket: z.string().min(1).max(2048).optional(),
  resume_ticket_ttl_ms: z.number().int().positive().optional(),
};

export const ConnectedFrame = serverFrame(
  ServerAction.connected,
  z.object({
    connection_id: Id,
    user_id: Id,
    role: z.enum(ROLES),
    device_type: z.enum(DEVICE_TYPES),
    connection_type: z.enum(CONNECTION_TYPES),
    /** How often the server pings, in ms; a client may use it to size its own timeout. */
    heartbeat_interval_ms: z.number().int().positive(),
    max_payload_bytes: z.number().int().positive(),
    /** WS_MAX_RECONNECT_ATTEMPTS: how many times a client should retry before giving up (seed: 15). */
    max_reconnect_attempts: z.number().int().nonnegative(),
    /** Current end of this user's direct-message stream: a fresh client's starting cursor. */
    user_seq: z.number().int().nonnegative(),
    /** Current end of the global-notice stream: a fresh client's starting cursor. */
    global_seq: z.number().int().nonnegative(),
    ...ResumeTicketFields,
  }),
);
export const NewMessageFrame = serverFrame(ServerAction.newMessage, MessagePayload);
export const ConsultationReplyFrame = serverFrame(ServerAction.consultationReply, ConsultationReplyPayload);
export const TypingStatusFrame = serverFrame(ServerAction.typingStatus, TypingStatusPayload);
export const ReadStatusFrame = serverFrame(ServerAction.readStatus, ReadStatusPayload);
export const SystemNotificationFrame = serverFrame(ServerAction.systemNotification, SystemNotificationPayload);
export const DirectMessageFrame = serverFrame(ServerAction.directMessage, DirectMessagePayload);
export const MobileNotificationFrame = serverFrame(ServerAction.mobileNotification, MobileNotificationPayload);
export const PongFrame = serverFrame(
  ServerAction.pong,
  z.object({ ts: z.number().optional(), server_time: IsoDate, ...ResumeTicketFields }),
);
/** The same `MessageSent` the HTTP send answers with; over WS a client_message_id is required, so never null. */
export const AckFrame = serverFrame(
  ServerAction.ack,
  z.object({ request_id: RequestId.nullable(), ...MessageSent.shape, client_message_id: z.string() }),
);
const ErrorCodeSchema = z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]);
export const ErrorFrame = serverFrame(
  ServerAction.error,
  z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    request_id: RequestId.nullable(),
    /** For INVALID_FRAME: where the frame was wrong, e.g. `data.conversation_id: expected string`. */
    issues: z.array(z.string()).optional(),
    /** For RATE_LIMITED over the frame rate: ms until this connection may send its next frame. */
    retry_after_ms: z.number().int().nonnegative().optional(),
  }),
);

export const ReconnectFrame = serverFrame(
  ServerAction.reconnect,
  z.object({
    reason: z.enum(['server_draining']),
    /** Jittered per connection so clients do not all come back at once; ms. */
    retry_after_ms: z.number().int().nonnegative(),
  }),
);

/** `recovered`: the gap was replayed. `reload`: the gap is larger than the replay window; load history over HTTP. */
const ResumeStatus = z.enum(['recovered', 'reload']);

export const ResumedFrame = serverFrame(
  ServerAction.resumed,
  z.object({
    request_id: RequestId.nullable(),
    conversations: z.array(
      z.object({
        conversation_id: Id,
        status: z.union([ResumeStatus, z.literal('forbidden')]),
        replayed_messages: z.number().int().nonnegative(),
        replayed_events: z.number().int().nonnegative(),
      }),
    ),
    user: z.object({ status: ResumeStatus, replayed: z.number().int().nonnegative() }).optional(),
    global: z.object({ status: ResumeStatus, replayed: z.number().int().nonnegative() }).optional(),
  }),
);

const Counts = z.record(z.string(), z.number().int().nonnegative());

export const StatsFrame = serverFrame(
  ServerAction.stats,
  z.object({
    /** Cluster-wide (from presence). */
    online_users: z.number().int().nonnegative(),
    connections: z.number().int().nonnegative(),
    by_device_type: Counts,
    by_role: Counts,
    by_instance: Counts,
    /** This instance's figures over the last STATS_INTERVAL. */
    instance_id: z.string(),
    messages_per_second: z.number().nonnegative(),
    broadcast_latency_ms: z.object({ p50: z.number().nonnegative(), p99: z.number().nonnegative() }),
    /**
     * This instance's push attempts since it started: delivered (`sent`), failed (retryable or
     * permanent), success_rate = sent ÷ (sent + failed); `expired` jobs dropped at PUSH_MAX_AGE and
     * `queued` sends its decisions created (optional: older servers do not send them).
     */
    push: z.object({
      sent: z.number().int(),
      failed: z.number().int(),
      success_rate: z.number().nullable(),
      expired: z.number().int().optional(),
      queued: z.number().int().optional(),
      /** The same per provider (fcm, apns, webpush, logging, webhook): attempts since start. */
      by_provider: z
        .record(
          z.string(),
          z.object({ sent: z.number().int(), failed: z.number().int(), success_rate: z.number().nullable() }),
        )
        .optional(),
    }),
  }),
);

export const EventSkippedFrame = serverFrame(
  ServerAction.eventSkipped,
  z.object({ conversation_id: Id, event_seq: z.number().int().positive() }),
);

/**
 * Why a `positions` frame was sent: the instance's link to the other instances (Redis) came back
 * after frames may have been lost (`bus_recovered`), or the periodic check of quiet streams
 * (`periodic`, every WS_POSITIONS_INTERVAL ms).
 */
export const POSITIONS_REASONS = ['bus_recovered', 'periodic'] as const;

export const PositionsFrame = serverFrame(
  ServerAction.positions,
  z.object({
    reason: z.enum(POSITIONS_REASONS),
    /** Every conversation the user takes part in, with the newest `seq` and `event_seq` stored. */
    conversations: z.array(
      z.object({
        conversation_id: Id,
        last_seq: z.number().int().nonnegative(),
        last_event_seq: z.number().int().nonnegative(),
      }),
    ),
    /** Newest position of the user's direct-message stream. */
    user_seq: z.number().int().nonnegative(),
    /** Newest position of the global-notice stream. */
    global_seq: z.number().int().nonnegative(),
  }),
);

/**
 * `reason`: `watch` answers a `watch_presence` (every visible watched user), `change` reports users
 * who came online or went offline cluster-wide (first socket opened, last socket closed), and
 * `bus_recovered` re-states every watched user after this instance's link to the others came back,
 * since changes published meanwhile may have been missed.
 */
export const PRESENCE_REASONS = ['watch', 'change', 'bus_recovered'] as const;

export const PresenceFrame = serverFrame(
  ServerAction.presence,
  z.object({
    request_id: RequestId.nullable(),
    reason: z.enum(PRESENCE_REASONS),
    users: z.array(z.object({ user_id: Id, online: z.boolean() })),
  }),
);

export const ServerFrame = z.discriminatedUnion('action', [
  ConnectedFrame,
  NewMessageFrame,
  ConsultationReplyFrame,
  TypingStatusFrame,
  ReadStatusFrame,
  SystemNotificationFrame,
  DirectMessageFrame,
  MobileNotificationFrame,
  PongFrame,
  AckFrame,
  ErrorFrame,
  ReconnectFrame,
  ResumedFrame,
  StatsFrame,
  EventSkippedFrame,
  PositionsFrame,
  PresenceFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
/** The frame of one server action, e.g. `ServerFrameOf<'new_message'>`. */
export type ServerFrameOf<A extends ServerAction> = Extract<ServerFrame, { action: A }>;
/** The `data` of one server action. */
export type ServerDataOf<A extends ServerAction> = ServerFrameOf<A>['data'];

export { MESSAGE_TYPES };
