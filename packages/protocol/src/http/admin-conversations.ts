/**
 * GET /api/v1/admin/conversations (issue #17, item 6): an admin finds a conversation by part of
 * its title or of a participant's display name or username, e.g. to send it a system notice.
 */
import { z } from 'zod';
import { ROLES } from '../domain.ts';
import { StorableText } from '../storable.ts';

/** Most conversations one search answers (and the default when `limit` is absent: 20). */
export const ADMIN_CONVERSATION_SEARCH_MAX = 50;
export const ADMIN_CONVERSATION_SEARCH_DEFAULT = 20;
/** Longest search text, in characters. */
export const ADMIN_CONVERSATION_QUERY_MAX = 100;

export const AdminConversationsQuery = z.strictObject({
  /** Case-insensitive substring of the title, or of a participant's display name or username; empty = all, newest first. */
  q: StorableText.max(ADMIN_CONVERSATION_QUERY_MAX).default(''),
  limit: z.coerce.number().int().min(1).max(ADMIN_CONVERSATION_SEARCH_MAX).default(ADMIN_CONVERSATION_SEARCH_DEFAULT),
});
export type AdminConversationsQuery = z.infer<typeof AdminConversationsQuery>;

export const AdminConversationParticipant = z.object({
  user_id: z.string(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(ROLES),
});

export const AdminConversation = z.object({
  id: z.string(),
  title: z.string(),
  created_at: z.string(),
  /** seq of the newest message; 0 when none. */
  last_seq: z.number(),
  participants: z.array(AdminConversationParticipant),
});
export type AdminConversation = z.infer<typeof AdminConversation>;

/** Newest activity first; at most `limit`. */
export const AdminConversationsResponse = z.object({ conversations: z.array(AdminConversation) });
export type AdminConversationsResponse = z.infer<typeof AdminConversationsResponse>;
