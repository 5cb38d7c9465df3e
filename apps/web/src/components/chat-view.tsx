'use client';

import { useWebSocketByPage, useWebSocketClient, useWebSocketHandler } from '@anmei/react';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as api from '../lib/api.ts';
import { cacheConversations, cachedConversations } from '../lib/conversation-cache.ts';
import { filterConversations } from '../lib/conversation-search.ts';
import { mergeFetchedConversations, withStoredMessage } from '../lib/conversations.ts';
import { fromUi, fromWire, merge, type ViewMessage } from '../lib/messages.ts';
import type { Session } from '../lib/session.ts';
import { FALLBACKS, userMessage } from '../lib/user-messages.ts';
import { Composer } from './composer.tsx';
import { ConnectionStatus } from './connection-status.tsx';
import { ConversationItem } from './conversation-item.tsx';
import { ConversationSearch } from './conversation-search.tsx';
import { EmptyThread } from './empty-thread.tsx';
import { MessageList } from './message-list.tsx';
import { Notices, useNotices } from './notices.tsx';
import { PushToggle } from './push-toggle.tsx';
import { ThreadHeader } from './thread-header.tsx';
import { useLivePresence } from './use-live-presence.ts';
import { useNoticeFrames } from './use-notice-frames.ts';
import { useOutboxBubbles } from './use-outbox-bubbles.ts';

const TYPING_TTL_MS = 6000;

/**
 * `selected`: the conversation to show (the page's `?c=<id>`, e.g. from a push notification's click).
 * `headAction`: shown beside the list's title (a customer's "发起咨询").
 */
export function ChatView({
  session,
  selected = null,
  headAction = null,
}: {
  session: Session;
  selected?: string | null;
  headAction?: ReactNode;
}) {
  const me = session.user;
  const ws = useWebSocketByPage();
  const client = useWebSocketClient();
  const [list, setList] = useState<api.ConversationSummary[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  /** The list's search box (consultants and doctors): filters the loaded list, client-side. */
  const [query, setQuery] = useState('');
  const shown = useMemo(() => (list ? filterConversations(list, query) : null), [list, query]);
  const [activeId, setActiveId] = useState<string | null>(selected);
  const [showThread, setShowThread] = useState(selected !== null);
  const [messages, setMessages] = useState<ViewMessage[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loadingHistory, setLoadingHistory] = useState(false);
  /** The conversation whose history could not be loaded (API unreachable): retried on reconnect. */
  const [historyFailed, setHistoryFailed] = useState<string | null>(null);
  const historyFailedRef = useRef<string | null>(null);
  historyFailedRef.current = historyFailed;
  const [typing, setTyping] = useState<Record<string, number>>({});
  const { notices, push: pushNotice, dismiss } = useNotices();
  const activeRef = useRef<string | null>(null);
  activeRef.current = activeId;
  const myReadSeq = useRef<Record<string, number>>({});
  /** Newest event position per conversation, from the list: where the client's event stream starts. */
  const eventHeads = useRef<Record<string, number>>({});
  const threadEnd = useRef<HTMLDivElement>(null);

  const refreshList = useCallback(async () => {
    try {
      const { conversations: fetched } = await api.conversations();
      cacheConversations(me.id, fetched);
      setList((current) => mergeFetchedConversations(current, fetched, activeRef.current));
      setListError(null);
      for (const c of fetched) {
        const mine = c.participants.find((p) => p.user_id === me.id);
        if (mine) myReadSeq.current[c.id] = Math.max(myReadSeq.current[c.id] ?? 0, mine.last_read_seq);
        eventHeads.current[c.id] = Math.max(eventHeads.current[c.id] ?? 0, c.last_event_seq);
      }
      setActiveId((current) => current ?? fetched[0]?.id ?? null);
    } catch (e) {
      setListError(userMessage(e, FALLBACKS.conversations));
      // A reload while the API is unreachable: show the last list, so the conversations and the
      // messages still waiting in the outbox are there; the next refresh (on reconnect) replaces it.
      const cached = cachedConversations(me.id);
      if (cached) {
        setList((current) => current ?? cached);
        setActiveId((current) => current ?? cached[0]?.id ?? null);
      }
    }
  }, [me.id]);

  useEffect(() => {
    void refreshList();
    // Online state arrives by `presence` frames and new conversations by notices; a focus after
    // a long time away (a sleeping laptop) still reloads the list once.
    const onFocus = () => void refreshList();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [refreshList]);
  useLivePresence(list, setList, me.id);

  useEffect(() => {
    if (!selected) return;
    setActiveId(selected);
    setShowThread(true);
  }, [selected]);

  const loadHistory = useCallback(
    async (id: string) => {
      setLoadingHistory(true);
      try {
        const page = await api.history(id);
        if (activeRef.current !== id) return;
        // Keep what is shown from the page's first message on (the list holds this conversation's
        // only: it is emptied on a switch): messages delivered live while the request was in
        // flight may be newer than the page. Older ones are dropped, so that after a `reload`
        // notice the view has no silent hole between them and the page.
        const firstSeq = page.messages[0]?.seq ?? 0;
        setMessages((current) =>
          merge(
            current.filter((m) => m.pending || m.seq === null || m.seq >= firstSeq),
            page.messages.map(fromWire),
          ),
        );
        setHasMore(page.has_more);
        setHistoryFailed((failed) => (failed === id ? null : failed));
        // Tell the client where this view starts, so a reconnect replays exactly what follows.
        client.track(id, { lastSeq: page.messages.at(-1)?.seq ?? 0, lastEventSeq: eventHeads.current[id] });
      } catch (e) {
        // Said in the thread rather than in a toast: offline, the messages waiting to be sent are
        // still shown, and the history follows on reconnect.
        console.warn('history request failed', e);
        if (activeRef.current === id) setHistoryFailed(id);
      } finally {
        setLoadingHistory(false);
      }
    },
    [client],
  );

  useEffect(
    () =>
      client.onEvent('open', () => {
        void refreshList();
        const id = activeRef.current;
        if (id && historyFailedRef.current === id) void loadHistory(id);
      }),
    [client, refreshList, loadHistory],
  );

  // A gap too large to replay: reload over HTTP.
  useEffect(
    () =>
      client.onEvent('reload', ({ conversationId }) => {
        if (!conversationId) void refreshList();
        else if (conversationId === activeRef.current) void loadHistory(conversationId);
      }),
    [client, loadHistory, refreshList],
  );

  async function loadEarlier() {
    const id = activeId;
    const first = messages.find((m) => m.seq !== null)?.seq;
    if (!id || !first) return;
    setLoadingHistory(true);
    try {
      const page = await api.history(id, first);
      if (activeRef.current !== id) return;
      setMessages((current) => merge(current, page.messages.map(fromWire)));
      setHasMore(page.has_more);
    } finally {
      setLoadingHistory(false);
    }
  }

  const onStored = useCallback(
    (message: ViewMessage, conversationId: string) => {
      if (conversationId === activeRef.current) {
        setMessages((current) => merge(current, [message]));
        setTyping((t) => {
          if (!(message.senderId in t)) return t;
          const { [message.senderId]: _, ...rest } = t;
          return rest;
        });
      }
      setList((current) => {
        if (!current) return current;
        if (!current.some((c) => c.id === conversationId)) {
          void refreshList();
          return current;
        }
        return withStoredMessage(current, conversationId, message, { activeId: activeRef.current, me: me.id });
      });
    },
    [me.id, refreshList],
  );

  const { outboxView, retry } = useOutboxBubbles({ client, meId: me.id, activeRef, setMessages, onStored });

  useEffect(() => {
    setMessages(activeId ? outboxView(activeId) : []);
    setHasMore(false);
    setTyping({});
    setHistoryFailed(null);
    if (activeId) void loadHistory(activeId);
  }, [activeId, loadHistory, outboxView]);

  useWebSocketHandler('new_message', (frame) => onStored(fromUi(frame.data), frame.data.conversationId));
  useWebSocketHandler('consultation_reply', (frame) => {
    const m = frame.data.message;
    if (m) onStored(fromUi(m), frame.data.conversationId);
  });
  useWebSocketHandler('typing_status', (frame) => {
    const { conversationId, userId, isTyping } = frame.data;
    if (conversationId !== activeRef.current || userId === me.id) return;
    setTyping((t) => {
      if (isTyping) return { ...t, [userId]: Date.now() + TYPING_TTL_MS };
      const { [userId]: _, ...rest } = t;
      return rest;
    });
  });
  useNoticeFrames({ meId: me.id, pushNotice, activeRef, myReadSeq, setList, setMessages });
  useWebSocketHandler('direct_message', (frame) => {
    pushNotice({ title: frame.data.title ?? '私信', message: frame.data.content, kind: 'info' });
  });

  // Clear typing indicators whose sender went quiet (they may have disconnected without "false").
  useEffect(() => {
    const deadlines = Object.values(typing);
    if (deadlines.length === 0) return;
    const next = Math.min(...deadlines) - Date.now();
    const timer = setTimeout(
      () => setTyping((t) => Object.fromEntries(Object.entries(t).filter(([, until]) => until > Date.now()))),
      Math.max(0, next),
    );
    return () => clearTimeout(timer);
  }, [typing]);

  // Read receipts: when the thread shows messages from others past my read position, mark them read.
  useEffect(() => {
    const id = activeId;
    if (!id) return;
    const mark = () => {
      if (document.visibilityState !== 'visible') return;
      const latest = [...messages].reverse().find((m) => m.senderId !== me.id && m.id && m.seq !== null);
      if (!latest?.id || latest.seq === null) return;
      if ((myReadSeq.current[id] ?? 0) >= latest.seq) return;
      myReadSeq.current[id] = latest.seq;
      if (!client.markRead(id, [latest.id])) void api.markReadHttp(id, [latest.id]).catch(() => undefined);
      setList((current) => current?.map((c) => (c.id === id ? { ...c, unread_count: 0 } : c)) ?? null);
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [messages, activeId, me.id, client]);

  // Keep the newest message in view (also when the thread becomes visible on a phone), but not on
  // "load earlier": only a new last message or showing the thread scrolls.
  const lastKey = messages.at(-1)?.key;
  // biome-ignore lint/correctness/useExhaustiveDependencies: showThread is a trigger, not an input
  useEffect(() => {
    if (lastKey) threadEnd.current?.scrollIntoView({ block: 'end' });
  }, [lastKey, showThread]);

  const active = list?.find((c) => c.id === activeId) ?? null;
  const others = useMemo(() => active?.participants.filter((p) => p.user_id !== me.id) ?? [], [active, me.id]);
  const names = useMemo(
    () => Object.fromEntries((active?.participants ?? []).map((p) => [p.user_id, p.display_name])),
    [active],
  );
  const typingNames = Object.keys(typing)
    .map((id) => names[id] ?? '对方')
    .join('、');

  const onLocal = useCallback((message: ViewMessage) => {
    setMessages((current) => merge(current, [message]));
  }, []);

  return (
    <div className={`chat ${showThread ? 'show-thread' : ''}`}>
      <aside className="conv-list" aria-label="会话列表">
        <div className="conv-list-head">
          <h1>我的咨询</h1>
          {headAction}
        </div>
        {/* Connect / disconnect / reconnect are developer tools: admins only. */}
        <ConnectionStatus showControls={me.role === 'admin'} />
        {me.role === 'admin' ? null : <PushToggle user={me} />}
        {listError ? <p className="error">{listError}</p> : null}
        {list === null ? <p className="muted pad">加载中…</p> : null}
        {list?.length === 0 ? (
          <p className="muted pad">{me.role === 'admin' ? '管理员不参与会话；系统通知会显示在这里。' : '暂无会话'}</p>
        ) : null}
        {me.role === 'consultant' || me.role === 'doctor' ? (
          <ConversationSearch value={query} onChange={setQuery} total={list?.length ?? 0} found={shown?.length ?? 0} />
        ) : null}
        <ul>
          {shown?.map((c) => (
            <ConversationItem
              key={c.id}
              conversation={c}
              meId={me.id}
              active={c.id === activeId}
              onOpen={() => {
                setActiveId(c.id);
                setShowThread(true);
              }}
            />
          ))}
        </ul>
      </aside>
      <section className="thread" aria-label="消息">
        {active ? (
          <>
            <ThreadHeader
              conversationId={active.id}
              title={active.title}
              participants={active.participants}
              others={others}
              canAdd={me.role !== 'customer'}
              onBack={() => setShowThread(false)}
            />
            <div className="messages" data-testid="messages">
              {hasMore ? (
                <button
                  type="button"
                  className="btn btn-small btn-ghost load-more"
                  disabled={loadingHistory}
                  onClick={() => void loadEarlier()}
                >
                  {loadingHistory ? '加载中…' : '加载更早的消息'}
                </button>
              ) : null}
              {historyFailed === active.id ? (
                <p className="muted center" data-testid="history-offline">
                  暂时无法加载历史消息，连接恢复后自动加载。
                </p>
              ) : null}
              <MessageList messages={messages} me={me} names={names} others={others} retry={retry} />
              {messages.length === 0 && !loadingHistory && historyFailed !== active.id ? (
                <p className="muted center">还没有消息，打个招呼吧。</p>
              ) : null}
              <div ref={threadEnd} />
            </div>
            <div className="typing" aria-live="polite">
              {typingNames ? (
                <span data-testid="typing-indicator">
                  {typingNames} 正在输入<span className="dots">…</span>
                </span>
              ) : null}
            </div>
            <Composer
              key={active.id}
              conversationId={active.id}
              me={me.id}
              onLocal={onLocal}
              onStored={(m) => onStored(m, active.id)}
              connected={ws.isConnected}
            />
          </>
        ) : (
          <EmptyThread role={me.role} hasConversations={Boolean(list && list.length > 0)} />
        )}
      </section>
      <Notices notices={notices} dismiss={dismiss} />
    </div>
  );
}
