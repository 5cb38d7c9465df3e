/**
 * The last conversation list each user loaded, in localStorage. A reload while the API is
 * unreachable then still shows the conversations, and in them the messages waiting in the
 * client's outbox (issue #17). Per user, and forgotten on sign-out, like the outbox.
 */
import type { ConversationSummary } from './api.ts';

const PREFIX = 'anmei.conversations.';

export function cacheConversations(userId: string, list: readonly ConversationSummary[]): void {
  try {
    window.localStorage.setItem(PREFIX + userId, JSON.stringify(list));
  } catch {
    // Storage full or disabled: the cache is a convenience, the list itself is shown anyway.
  }
}

/** The cached list, everyone shown offline (their presence is unknown); null when none. */
export function cachedConversations(userId: string): ConversationSummary[] | null {
  let value: unknown;
  try {
    value = JSON.parse(window.localStorage.getItem(PREFIX + userId) ?? 'null');
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  return value
    .filter(
      (c): c is ConversationSummary =>
        typeof c === 'object' &&
        c !== null &&
        typeof c.id === 'string' &&
        typeof c.title === 'string' &&
        Array.isArray(c.participants),
    )
    .map((c) => ({ ...c, participants: c.participants.map((p) => ({ ...p, online: false })) }));
}

export function forgetConversations(userId: string): void {
  try {
    window.localStorage.removeItem(PREFIX + userId);
  } catch {
    // Nothing to forget.
  }
}
