'use client';

import { useWebSocketClient, useWebSocketHandler } from '@anmei/react';
import { type Dispatch, type SetStateAction, useEffect, useMemo } from 'react';
import type { ConversationSummary } from '../lib/api.ts';
import { watchedUsers, withPresence } from '../lib/presence.ts';

/**
 * Watches everyone the conversation list shows and applies each `presence` frame to it, so rows
 * and the thread header show who is online without polling. The client repeats the watch on
 * every new socket and the server answers with everyone's state, so a reconnect (ours or
 * theirs) never leaves a stale 离线.
 */
export function useLivePresence(
  list: ConversationSummary[] | null,
  setList: Dispatch<SetStateAction<ConversationSummary[] | null>>,
  me: string,
): void {
  const client = useWebSocketClient();
  // A string key: a new list object with the same people does not send the watch again.
  const key = useMemo(() => watchedUsers(list, me).join(','), [list, me]);
  useEffect(() => {
    client.watchPresence(key === '' ? [] : key.split(','));
  }, [client, key]);
  useEffect(() => () => void client.watchPresence([]), [client]);
  useWebSocketHandler('presence', (frame) => setList((current) => withPresence(current, frame.data.users)));
}
