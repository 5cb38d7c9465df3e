/** DELETE /api/v1/chat/:conversation_id/participants/:user_id: a doctor or consultant leaves. */
import { z } from 'zod';
import { ROLES } from '../domain.ts';
import { Id } from '../payloads.ts';
import { ConversationIdParams } from './common.ts';

export const ParticipantParams = ConversationIdParams.extend({ user_id: Id });

export const ParticipantRemovalResponse = z.object({
  /** false when they were not in the conversation: nothing changed. */
  removed: z.boolean(),
  user: z.object({ id: z.string(), role: z.enum(ROLES), display_name: z.string() }),
});
export type ParticipantRemovalResponse = z.infer<typeof ParticipantRemovalResponse>;
