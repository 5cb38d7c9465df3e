/** Who gets a conversation's frame, from its participant list (ParticipantDirectory). */
import type { Participant } from './participant-directory.ts';

/** Every participant's user id but `userId`'s (undefined: all of them), in list order. */
export function othersThan(participants: readonly Participant[], userId?: string): string[] {
  const ids: string[] = [];
  for (const p of participants) if (p.userId !== userId) ids.push(p.userId);
  return ids;
}

/** Every participant's user id but `senderId`'s, then `senderId` (the same users, sender last). */
export function othersAnd(participants: readonly Participant[], senderId: string): string[] {
  const ids = othersThan(participants, senderId);
  ids.push(senderId);
  return ids;
}
