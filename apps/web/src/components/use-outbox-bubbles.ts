/**
 * The outbox's sends as bubbles of the open conversation (issue #17): restored after a reload
 * (pending), acked (replaced by the stored message), failed for good (with a retry that resends
 * with the same client message id, so the server stores it at most once). Typed here or restored,
 * a message is one bubble keyed by its client message id.
 */
import type { WebSocketClient } from '@anmei/client';
import { type Dispatch, type RefObject, type SetStateAction, useCallback, useEffect, useRef } from 'react';
import { fromPending, merge, sendFailureText, type ViewMessage } from '../lib/messages.ts';

export function useOutboxBubbles(deps: {
  client: WebSocketClient;
  meId: string;
  /** The open conversation's id. */
  activeRef: RefObject<string | null>;
  setMessages: Dispatch<SetStateAction<ViewMessage[]>>;
  /** A message is stored (here: our send was acked). */
  onStored: (message: ViewMessage, conversationId: string) => void;
}): { outboxView: (conversationId: string) => ViewMessage[]; retry: (message: ViewMessage) => void } {
  const { client, meId, activeRef, setMessages, onStored } = deps;
  /** My sends that failed for good, per conversation, until retried: shown when it is opened. */
  const failedSends = useRef(new Map<string, Map<string, ViewMessage>>());

  /** What the outbox holds for a conversation: sends still pending (also restored after a reload) and failed ones. */
  const outboxView = useCallback(
    (id: string) =>
      merge(
        [],
        [...client.pending(id).map((m) => fromPending(m, meId)), ...(failedSends.current.get(id)?.values() ?? [])],
      ),
    [client, meId],
  );

  useEffect(() => {
    const offRestored = client.onEvent('restored', ({ messages: restored }) => {
      const here = restored.filter((m) => m.conversationId === activeRef.current).map((m) => fromPending(m, meId));
      if (here.length > 0) setMessages((current) => merge(current, here));
    });
    const offSent = client.onEvent('sent', ({ message, result }) => {
      failedSends.current.get(message.conversationId)?.delete(message.clientMessageId);
      const stored: ViewMessage = {
        ...fromPending(message, meId),
        id: result.messageId,
        seq: result.seq,
        createdAt: result.createdAt,
        pending: undefined,
      };
      onStored(stored, result.conversationId);
    });
    const offFailed = client.onEvent('sendFailed', ({ message, error }) => {
      // Discarded: another user signed in (or this one out); nothing of theirs is shown any more.
      if (error.code === 'DISCARDED' || error.code === 'DISPOSED') return;
      console.warn(`send ${message.clientMessageId} failed: ${error.code}`, error.message);
      const failed: ViewMessage = { ...fromPending(message, meId), pending: 'failed', error: sendFailureText(error) };
      const byId = failedSends.current.get(message.conversationId) ?? new Map<string, ViewMessage>();
      byId.set(message.clientMessageId, failed);
      failedSends.current.set(message.conversationId, byId);
      if (message.conversationId === activeRef.current) setMessages((current) => merge(current, [failed]));
    });
    return () => {
      offRestored();
      offSent();
      offFailed();
    };
  }, [client, meId, onStored, activeRef, setMessages]);

  /** Sends a failed message again with its client message id: the server stores it at most once. */
  const retry = useCallback(
    (m: ViewMessage) => {
      const id = activeRef.current;
      if (!id || !m.clientMessageId) return;
      failedSends.current.get(id)?.delete(m.clientMessageId);
      setMessages((current) => merge(current, [{ ...m, pending: 'sending', error: undefined }]));
      void client.send(id, m.content, { clientMessageId: m.clientMessageId }).catch(() => undefined);
    },
    [client, activeRef, setMessages],
  );

  return { outboxView, retry };
}
