/**
 * The chat view's `read_status` and `system_notification` frames, which come from the raw frame
 * channel (see lib/frame-log.ts for why): read positions move in the list (and mine is
 * remembered), a notice is shown once as a toast, a new consultation or member changes the list
 * at once, and a notice of the open conversation is shown in its thread.
 */
import { type Dispatch, type RefObject, type SetStateAction, useEffect, useRef } from 'react';
import type { ConversationSummary } from '../lib/api.ts';
import { type NoticeData, withMembershipNotice, withReadPosition } from '../lib/conversations.ts';
import { onRawFrame } from '../lib/frame-log.ts';
import { merge, type ViewMessage } from '../lib/messages.ts';

/** Notices that change the list (and so the open thread's header) from the frame alone. */
const LIST_NOTICES = new Set([
  'conversation_started',
  'participant_added',
  'participant_removed',
  'conversation_renamed',
]);

export function useNoticeFrames(deps: {
  meId: string;
  pushNotice: (notice: { title: string; message: string; kind: 'info' }) => void;
  /** The open conversation's id. */
  activeRef: RefObject<string | null>;
  /** My read position per conversation. */
  myReadSeq: RefObject<Record<string, number>>;
  setList: Dispatch<SetStateAction<ConversationSummary[] | null>>;
  setMessages: Dispatch<SetStateAction<ViewMessage[]>>;
}): void {
  const { activeRef, myReadSeq, setList, setMessages } = deps;
  const seenNotices = useRef(new Set<string>());
  const latest = useRef({ me: deps.meId, pushNotice: deps.pushNotice });
  latest.current = { me: deps.meId, pushNotice: deps.pushNotice };
  useEffect(
    () =>
      onRawFrame('read_status', (frame) => {
        const { conversation_id: conversationId, user_id: userId, last_read_seq: lastReadSeq } = frame.data;
        if (lastReadSeq === null || lastReadSeq === undefined) return;
        const self = latest.current.me;
        if (userId === self) {
          myReadSeq.current[conversationId] = Math.max(myReadSeq.current[conversationId] ?? 0, lastReadSeq);
        }
        setList((current) => current && withReadPosition(current, conversationId, userId, lastReadSeq, self));
      }),
    [myReadSeq, setList],
  );
  useEffect(
    () =>
      onRawFrame('system_notification', (frame) => {
        const { conversation_id: conversationId, title, message } = frame.data;
        const eventId = (frame.data as { event_id?: string }).event_id;
        if (eventId) {
          if (seenNotices.current.has(eventId)) return;
          seenNotices.current.add(eventId);
        }
        latest.current.pushNotice({ title, message, kind: 'info' });
        // A new consultation, a new member or a new title: the list changes from the frame alone, at once.
        const {
          type,
          event_seq: eventSeq,
          data,
        } = frame.data as { type: string; event_seq?: number; data?: NoticeData };
        if (conversationId && LIST_NOTICES.has(type)) {
          setList(
            (current) =>
              current &&
              withMembershipNotice(current, {
                type,
                conversationId,
                eventSeq: eventSeq ?? 0,
                data,
                me: latest.current.me,
              }),
          );
        }
        if (conversationId && conversationId === activeRef.current) {
          const at = new Date(frame.timestamp);
          const key = eventId ?? `notice-${at.getTime()}-${title}`;
          setMessages((current) =>
            merge(current, [
              {
                key,
                id: null,
                seq: null,
                senderId: 'system',
                type: 'system',
                content: `${title}：${message}`,
                metadata: null,
                createdAt: at,
                clientMessageId: key,
              },
            ]),
          );
        }
      }),
    [activeRef, setList, setMessages],
  );
}
