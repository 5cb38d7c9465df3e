/** PATCH /api/v1/chat/:conversation_id: a conversation's new title (participants and admins). */
import { z } from 'zod';
import { StorableText } from '../storable.ts';

/** The same rule as a title given when a consultation is started: 1-100 characters after trimming. */
export const ConversationTitleBody = z.strictObject({ title: StorableText.trim().min(1).max(100) });

export const ConversationTitleResponse = z.object({
  id: z.string(),
  title: z.string(),
  /** false when the title was already this one: nothing was stored or sent. */
  changed: z.boolean(),
});
export type ConversationTitleResponse = z.infer<typeof ConversationTitleResponse>;
