/**
 * Read receipts, coalesced per conversation (ReadReceipts, behind `client.markRead`).
 *
 * Why: an open chat marks a conversation read whenever it shows a newer message from someone else,
 * so in a lively conversation every message received became a `read` frame, and the server stores
 * each one and sends it to every other member: in the benchmark's chat mix (conversations of 2–5,
 * everyone sending) reads cost the server more than the messages they answered
 * (docs/benchmarks.md, round 6, eleventh pass).
 *
 * The rule, per conversation:
 * - A read with none sent in the last `intervalMs` goes out at once: in a calm conversation the
 *   other side sees "read" as soon as the message is shown.
 * - Reads within `intervalMs` after one that went out wait, and go together as one frame when the
 *   interval ends (their message ids merged, the newest `LIMITS.readReceiptMaxIds` kept; the
 *   server moves the reader's position to the newest of them). So a reader sends at most one
 *   read per conversation per interval, and a receipt is at most `intervalMs` late.
 * - A read that could not be written (the socket closed meanwhile) is kept and goes when the next
 *   connection opens (`flush`). Before the client closes a connection on its own decision it
 *   writes every waiting read (`flushNow`), so leaving a chat page loses none. Sending one twice
 *   is harmless: the server only moves a position forward.
 * - `intervalMs` 0 sends every read at once, as before coalescing.
 */
import { LIMITS } from '@anmei/protocol';
import type { TimerHandle, Timers } from './timers.ts';

export interface ReadReceiptsDeps {
  /** Writes one `read` frame; false when the socket is not open (the read is kept then). */
  send(conversationId: string, messageIds: readonly string[]): boolean;
  timers: Timers;
  /** ms a conversation's reads after one that went out wait to go together. 0: no waiting. */
  intervalMs: number;
}

interface Conversation {
  /** Ids waiting to go, oldest first, each once. */
  waiting: string[];
  /** Set while the interval after the last read sent runs. */
  timer: TimerHandle | null;
}

export class ReadReceipts {
  readonly #deps: ReadReceiptsDeps;
  readonly #conversations = new Map<string, Conversation>();

  constructor(deps: ReadReceiptsDeps) {
    this.#deps = deps;
  }

  /** Reads waiting to go (for tests and diagnostics): conversations with ids not yet written. */
  get waiting(): number {
    let n = 0;
    for (const conversation of this.#conversations.values()) if (conversation.waiting.length > 0) n += 1;
    return n;
  }

  /** Marks these messages read: now, or with the conversation's next read (see the rule above). */
  mark(conversationId: string, messageIds: readonly string[]): void {
    if (messageIds.length === 0) return;
    let conversation = this.#conversations.get(conversationId);
    if (!conversation) {
      conversation = { waiting: [], timer: null };
      this.#conversations.set(conversationId, conversation);
    }
    add(conversation.waiting, messageIds);
    if (conversation.timer === null) this.#write(conversationId, conversation);
  }

  /** Writes the reads kept while no socket was open (called when a connection opens). */
  flush(): void {
    for (const [conversationId, conversation] of this.#conversations) {
      if (conversation.timer === null) this.#write(conversationId, conversation);
    }
  }

  /** Writes every waiting read now, intervals or not (the client is about to close its socket). */
  flushNow(): void {
    for (const [conversationId, conversation] of this.#conversations) {
      this.#stopTimer(conversation);
      if (conversation.waiting.length === 0) this.#conversations.delete(conversationId);
      else if (this.#deps.send(conversationId, conversation.waiting)) this.#conversations.delete(conversationId);
    }
  }

  /** Forgets every waiting read and stops the timers (another user signs in; the client is disposed). */
  clear(): void {
    for (const conversation of this.#conversations.values()) this.#stopTimer(conversation);
    this.#conversations.clear();
  }

  /** Sends the conversation's waiting ids, if any, and starts its interval; forgets it when idle. */
  #write(conversationId: string, conversation: Conversation): void {
    if (conversation.waiting.length === 0) {
      this.#conversations.delete(conversationId);
      return;
    }
    if (!this.#deps.send(conversationId, conversation.waiting)) return;
    conversation.waiting = [];
    if (this.#deps.intervalMs === 0) {
      this.#conversations.delete(conversationId);
      return;
    }
    conversation.timer = this.#deps.timers.setTimeout(() => {
      conversation.timer = null;
      this.#write(conversationId, conversation);
    }, this.#deps.intervalMs);
  }

  #stopTimer(conversation: Conversation): void {
    if (conversation.timer === null) return;
    this.#deps.timers.clearTimeout(conversation.timer);
    conversation.timer = null;
  }
}

/** Appends the ids not there yet, keeping the newest LIMITS.readReceiptMaxIds (one frame's most). */
function add(waiting: string[], messageIds: readonly string[]): void {
  for (const id of messageIds) if (!waiting.includes(id)) waiting.push(id);
  if (waiting.length > LIMITS.readReceiptMaxIds) waiting.splice(0, waiting.length - LIMITS.readReceiptMaxIds);
}
