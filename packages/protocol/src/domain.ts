/** Vocabulary shared by both sides: roles, device types, message kinds. */

export const ROLES = ['customer', 'consultant', 'doctor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Staff roles answer customers; their replies to offline customers become push notifications. */
export const STAFF_ROLES: ReadonlySet<Role> = new Set(['consultant', 'doctor']);

export const DEVICE_TYPES = ['mobile', 'desktop', 'tablet'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const MESSAGE_TYPES = ['text', 'image', 'file', 'voice', 'system'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const CONNECTION_TYPES = ['chat', 'admin'] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];

export const PUSH_PRIORITIES = ['normal', 'high'] as const;
export type PushPriority = (typeof PUSH_PRIORITIES)[number];

/**
 * Length of a string as the limits count it: in Unicode code points (an emoji is one, as a CJK
 * character is), the way the schemas' `.min()` / `.max()` count (zod 4), not in UTF-16 units
 * (`string.length`, where an emoji outside the BMP counts 2).
 */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Limits shared by client and server so a client can refuse what the server would; text lengths in code points (`textLength`). */
export const LIMITS = {
  /** Maximum characters in a text message's content. */
  messageContentMaxChars: 10_000,
  /** Maximum length of a client message id (a UUID fits comfortably). */
  clientMessageIdMaxChars: 64,
  /** Maximum message ids in one read receipt frame. */
  readReceiptMaxIds: 500,
  /** Maximum messages returned by one history page. */
  historyPageMax: 200,
  /** Maximum conversations named in one resume frame. */
  resumeMaxConversations: 200,
  /**
   * Largest stream position (`seq`, `event_seq`, `user_seq`, `global_seq`, `last_read_seq`) and so
   * the largest position a client may send: the columns are Postgres `integer` (signed 32-bit), and
   * a larger value in a query fails in the database instead of matching nothing (issue #15).
   */
  positionMax: 2_147_483_647,
  /** Maximum users one socket may watch with `watch_presence` (a busy consultant's contacts fit). */
  presenceWatchMax: 500,
} as const;

/** Uploadable attachment types, by the message type they become (server enforces; clients pre-check). */
export const ATTACHMENT_MIME_TYPES = {
  image: ['image/png', 'image/jpeg', 'image/gif', 'image/webp'],
  voice: ['audio/webm', 'audio/ogg', 'audio/mpeg', 'audio/mp4', 'audio/wav', 'audio/x-wav', 'audio/aac'],
  file: [
    'application/pdf',
    'text/plain',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.ms-excel',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/zip',
  ],
} as const satisfies Record<'image' | 'voice' | 'file', readonly string[]>;

/** Default ATTACHMENT_MAX_BYTES of the server, bytes (10 MiB). */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024;
