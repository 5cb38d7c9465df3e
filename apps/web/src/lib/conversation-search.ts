/** Client-side search of the conversation list (issue #17, item 6): the list is already loaded. */
import type { ConversationSummary } from './api.ts';
import { preview } from './messages.ts';

/** Case-, width- and space-insensitive form (ＡＢＣ → abc), so a phone's full-width input matches. */
function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The conversations whose title, a participant's name or the last message's preview contain every
 * word of `query` (in any of those fields); all of them, in their order, for an empty query.
 */
export function filterConversations<C extends Pick<ConversationSummary, 'title' | 'participants' | 'last_message'>>(
  list: readonly C[],
  query: string,
): C[] {
  const words = normalize(query).split(' ').filter(Boolean);
  if (words.length === 0) return [...list];
  return list.filter((c) => {
    const haystack = normalize(
      [c.title, ...c.participants.map((p) => p.display_name), c.last_message ? preview(c.last_message) : ''].join('\n'),
    );
    return words.every((w) => haystack.includes(w));
  });
}
