'use client';

import { Fragment, useEffect, useState } from 'react';
import type { Participant } from '../lib/api.ts';
import { groupByDay } from '../lib/dates.ts';
import { receiptOf, type ViewMessage } from '../lib/messages.ts';
import { DateSeparator } from './date-separator.tsx';
import { MessageBubble } from './message-bubble.tsx';

interface Props {
  messages: readonly ViewMessage[];
  me: { id: string; display_name: string };
  /** user id → display name, for the sender line and the avatar. */
  names: Readonly<Record<string, string>>;
  /** The other participants: their read positions and presence make my receipts. */
  others: ReadonlyArray<Pick<Participant, 'last_read_seq' | 'online'>>;
  /** Send a failed text of mine again (same client message id). */
  retry: (message: ViewMessage) => void;
}

/** The thread's messages, a date separator before each calendar day (browser's time zone). */
export function MessageList({ messages, me, names, others, retry }: Props) {
  const now = useToday();
  return (
    <>
      {groupByDay(messages, (m) => m.createdAt, now).map((group) => (
        <Fragment key={group.id}>
          <DateSeparator label={group.label} day={group.key} />
          {group.items.map((m) => (
            <MessageBubble
              key={m.key}
              message={m}
              mine={m.senderId === me.id}
              senderName={names[m.senderId] ?? (m.senderId === me.id ? me.display_name : '')}
              receipt={m.senderId === me.id ? receiptOf(m, others) : null}
              {...(m.pending === 'failed' && m.type === 'text' ? { onRetry: () => retry(m) } : {})}
            />
          ))}
        </Fragment>
      ))}
    </>
  );
}

/** The current time, renewed just after local midnight, so 今天 becomes 昨天 in a thread left open overnight. */
function useToday(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const midnight = new Date(now);
    midnight.setHours(24, 0, 0, 0);
    // A second past midnight: a timer that fires a little early would still see the old day.
    const timer = setTimeout(() => setNow(new Date()), midnight.getTime() - now.getTime() + 1000);
    return () => clearTimeout(timer);
  }, [now]);
  return now;
}
