/**
 * The seed's example page (docs/client.md, "Use it in a page"): ChatPage with
 * useWebSocketByPage, <WebSocketStatus/> and handlers, against the real API and a second,
 * real user on the other end.
 */
import { type UiFrameOf, WebSocketClient } from '@anmei/client';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { StrictMode, useEffect, useState } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FACIAL, startTestApp, type TestApp, wsOrigin } from '../../client/test/support/real-api.ts';
import { waitForState } from '../../client/test/support/wait.ts';
import { useWebSocketByPage, useWebSocketHandler, WebSocketProvider, WebSocketStatus } from '../src/index.ts';
import { type Harness, harness } from './support/harness.ts';

let app: TestApp;
let h: Harness | undefined;
const others: WebSocketClient[] = [];

beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => {
  cleanup();
  h?.stop();
  for (const c of others.splice(0)) c.dispose();
});
afterAll(async () => {
  await app.close();
});

/** The docs' ChatPage, with a conversation id prop so the test can point it at demo data. */
function ChatPage({ conversationId }: { conversationId: string }) {
  const { isConnected, lastMessage, sendMessage, config } = useWebSocketByPage('/chat');
  const [messages, setMessages] = useState<{ id: string; content: string }[]>([]);
  const [last, setLast] = useState('');

  // Every reply, even in a burst: a handler, not lastMessage.
  useWebSocketHandler('consultation_reply', (frame) => {
    setMessages((list) => [
      ...list,
      { id: frame.data.message?.id ?? String(list.length), content: frame.data.content },
    ]);
  });
  // The seed's lastMessage pattern still works for "what came last".
  useEffect(() => {
    if (lastMessage?.action === 'consultation_reply') setLast(lastMessage.data.content);
  }, [lastMessage]);

  return (
    <div>
      <WebSocketStatus />
      <p>连接状态: {isConnected ? '已连接' : '未连接'}</p>
      <p>typing: {config?.features.includes('typing_indicator') ? 'on' : 'off'}</p>
      <button type="button" onClick={() => void sendMessage(conversationId, '医生您好').then(() => setLast('sent'))}>
        send
      </button>
      <ul>
        {messages.map((m) => (
          <li key={m.id}>{m.content}</li>
        ))}
      </ul>
      <p data-testid="last">{last}</p>
    </div>
  );
}

async function consultant(): Promise<WebSocketClient> {
  const { token } = await app.login('consultant_001');
  const client = new WebSocketClient({
    url: wsOrigin(app),
    getToken: async () => token,
    WebSocket: (await import('ws')).default,
    environment: null,
  });
  others.push(client);
  client.connect();
  await waitForState(client, 'open');
  return client;
}

const seen: string[] = [];
function Listener({ tag }: { tag: string }) {
  useWebSocketHandler('consultation_reply', (frame: UiFrameOf<'consultation_reply'>) => {
    seen.push(`${tag}:${frame.data.content}`);
  });
  useWebSocketByPage('/chat');
  return <p>{tag}</p>;
}

describe('ChatPage (the seed example)', () => {
  it('connects, sends with an ack, and shows every reply of a burst in order', async () => {
    h = harness(app, 'customer_456');
    const conversationId = app.conversationId(FACIAL);
    render(
      <StrictMode>
        <WebSocketProvider options={h.options} isAuthenticated>
          <ChatPage conversationId={conversationId} />
        </WebSocketProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByText('连接状态: 已连接')).toBeTruthy());
    expect(screen.getByText('typing: on')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'send' }));
    await waitFor(() => expect(screen.getByTestId('last').textContent).toBe('sent'));
    const stored = await app.built.ctx.store.messages.history(conversationId, { limit: 200 });
    expect(stored.filter((m) => m.content === '医生您好')).toHaveLength(1);

    const staff = await consultant();
    const replies = ['您好', '请问哪里不舒服', '我们可以安排面诊'];
    for (const text of replies) await staff.send(conversationId, text);
    await waitFor(() => expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(replies));
    await waitFor(() => expect(screen.getByTestId('last').textContent).toBe('我们可以安排面诊'));
    expect(h.sockets.created).toHaveLength(1);
  });

  it('useWebSocketHandler keeps one subscription across re-renders with new closures', async () => {
    h = harness(app, 'customer_456');
    const client = new WebSocketClient(h.options);
    const on = vi.spyOn(client, 'on');
    seen.length = 0;
    const view = render(
      <WebSocketProvider client={client} isAuthenticated>
        <Listener tag="a" />
      </WebSocketProvider>,
    );
    for (const tag of ['b', 'c', 'd']) {
      view.rerender(
        <WebSocketProvider client={client} isAuthenticated>
          <Listener tag={tag} />
        </WebSocketProvider>,
      );
    }
    await waitFor(() => expect(client.state.status).toBe('open'));
    expect(on).toHaveBeenCalledTimes(1);

    const staff = await consultant();
    await act(async () => {
      await staff.send(app.conversationId(FACIAL), 'latest closure');
    });
    await waitFor(() => expect(seen).toEqual(['d:latest closure']));
    client.dispose();
  });
});
