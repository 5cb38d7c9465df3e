/**
 * Online state in the conversation list, kept live by `presence` frames (issue #17, item 4): the
 * list holds each participant's `online`; a frame sets it for the users it names, everywhere
 * they appear. Pure, so it is tested without a browser.
 */
import type { ConversationSummary } from './api.ts';

/** The other participants of every conversation in the list: who the page watches (sorted, each once). */
export function watchedUsers(list: readonly ConversationSummary[] | null, me: string): string[] {
  const ids = new Set<string>();
  for (const c of list ?? []) for (const p of c.participants) if (p.user_id !== me) ids.add(p.user_id);
  return [...ids].sort();
}

/** `list` with the online flags of `users` applied; the same list (no re-render) when nothing changed. */
export function withPresence(
  list: ConversationSummary[] | null,
  users: ReadonlyArray<{ userId: string; online: boolean }>,
): ConversationSummary[] | null {
  if (list === null) return list;
  const online = new Map(users.map((u) => [u.userId, u.online]));
  let changed = false;
  const next = list.map((c) => {
    if (!c.participants.some((p) => online.has(p.user_id) && online.get(p.user_id) !== p.online)) return c;
    changed = true;
    return {
      ...c,
      participants: c.participants.map((p) => {
        const now = online.get(p.user_id);
        return now === undefined || now === p.online ? p : { ...p, online: now };
      }),
    };
  });
  return changed ? next : list;
}
