/**
 * Provider + useWebSocketByPage against the real API: one socket per app even in StrictMode,
 * none on pages without a config, and the right socket after each navigation.
 */
import type { OutboxStorage, StoredMessage, WebSocketClient } from '@anmei/client';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryOutboxStorage } from '../../client/test/support/memory-outbox-storage.ts';
import { FACIAL, startTestApp, type TestApp } from '../../client/test/support/real-api.ts';
import { useWebSocketByPage, useWebSocketClient, WebSocketProvider } from '../src/index.ts';
import { type Harness, harness } from './support/harness.ts';

let app: TestApp;
let h: Harness | undefined;
let grabbed: WebSocketClient | undefined;

beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => {
  cleanup();
  h?.stop();
  h = undefined;
  grabbed = undefined;
});
afterAll(async () => {
  await app.close();
});

function Page({ path }: { path: string }) {
  const { connectionStatus, isConnected, config, state } = useWebSocketByPage(path);
  grabbed = useWebSocketClient();
  const connection = state.status === 'open' ? `${state.connectionType}:${state.connectionId}` : '-';
  return (
    <p data-testid="page">
      {path} {connectionStatus} {isConnected ? 'connected' : 'not-connected'} {config?.connectionType ?? 'no-config'}{' '}
      {connection}
    </p>
  );
}

function App({ path, h, authed = true }: { path: string; h: Harness; authed?: boolean }) {
  return (
    <WebSocketProvider options={h.options} isAuthenticated={authed}>
      <Page path={path} />
    </WebSocketProvider>
  );
}

const pageText = () => screen.getByTestId('page').textContent ?? '';
const openState = () => {
  const state = grabbed!.state;
  if (state.status !== 'open') throw new Error(`expected open, got ${state.status}`);
  return state;
};

/** Lets effects, the demand microtask and any timer they might start run, then returns. */
async function noAttemptPending(): Promise<void> {
  await act(async () => {
    await Promise.resolve();
  });
  // Nothing to wait for when nothing should happen: give timers and microtasks a short, bounded
  // chance to misbehave (this is the only sleep, and it only proves an absence).
  await act(() => new Promise((resolve) => setTimeout(resolve, 150)));
}

let connect: (() => void) | undefined;
function ManualPage() {
  const page = useWebSocketByPage('/test-websocket');
  connect = page.connect;
  return <p data-testid="page">{page.connectionStatus}</p>;
}

describe('WebSocketProvider + useWebSocketByPage', () => {
  it('in StrictMode opens exactly one socket, and closes it when the app unmounts', async () => {
    h = harness(app, 'customer_456');
    const view = render(
      <StrictMode>
        <App path="/chat" h={h} />
      </StrictMode>,
    );
    await waitFor(() => expect(pageText()).toContain('/chat open connected chat'));
    expect(h.sockets.created).toHaveLength(1);
    expect(h.tokenRequests).toBe(1);
    expect(h.opened).toHaveLength(1);
    expect(grabbed!.listeningToEnvironment).toBe(true);

    // A full round trip later there is still only one.
    const rtt = new Promise((resolve) => grabbed!.onEvent('rtt', resolve));
    grabbed!.ping();
    await rtt;
    expect(h.sockets.created).toHaveLength(1);
    expect(h.opened).toHaveLength(1);

    view.unmount();
    await waitFor(() => expect(h!.live()).toBe(0));
    expect(h.closed.map((c) => c.code)).toEqual([1000]);
    expect(grabbed!.state.status).toBe('closed');
    expect(grabbed!.listeningToEnvironment).toBe(false);
  });

  it.each(['/login', '/about', '/'])('makes zero connection attempts on %s (no config)', async (path) => {
    h = harness(app, 'customer_456');
    render(
      <StrictMode>
        <App path={path} h={h} />
      </StrictMode>,
    );
    await noAttemptPending();
    expect(pageText()).toBe(`${path} idle not-connected no-config -`);
    expect(h.tokenRequests).toBe(0);
    expect(h.sockets.created).toHaveLength(0);
    expect(h.opened).toHaveLength(0);
  });

  it('makes zero attempts on a page with enabled: false, and on /login even when /login is configured', async () => {
    h = harness(app, 'customer_456');
    const chat = { enabled: true, requireAuth: true, autoConnect: true, connectionType: 'chat', features: [] } as const;
    const pages = { '/maintenance': { ...chat, enabled: false }, '/login': chat };
    for (const path of ['/maintenance', '/login']) {
      render(
        <StrictMode>
          <WebSocketProvider options={h.options} isAuthenticated pageConfig={pages}>
            <Page path={path} />
          </WebSocketProvider>
        </StrictMode>,
      );
      await noAttemptPending();
      expect(pageText()).toBe(`${path} idle not-connected no-config -`);
      cleanup();
    }
    expect(h.tokenRequests).toBe(0);
    expect(h.sockets.created).toHaveLength(0);
  });

  it('makes zero attempts on a requireAuth page while signed out, and connects once signed in', async () => {
    h = harness(app, 'customer_456');
    const view = render(<App path="/chat" h={h} authed={false} />);
    await noAttemptPending();
    expect(h.tokenRequests).toBe(0);
    expect(h.sockets.created).toHaveLength(0);

    view.rerender(<App path="/chat" h={h} authed />);
    await waitFor(() => expect(pageText()).toContain('open'));
    expect(h.sockets.created).toHaveLength(1);
  });

  it('switching routes closes and opens the right socket, and keeps it between two chat pages', async () => {
    h = harness(app, 'admin');
    const view = render(
      <StrictMode>
        <App path="/chat" h={h} />
      </StrictMode>,
    );
    const go = (path: string) =>
      view.rerender(
        <StrictMode>
          <App path={path} h={h!} />
        </StrictMode>,
      );
    await waitFor(() => expect(pageText()).toContain('open connected chat chat:'));
    const chat = openState().connectionId;

    go('/customer/chat');
    await noAttemptPending();
    expect(openState().connectionId).toBe(chat);
    expect(h.sockets.created).toHaveLength(1);

    go('/login');
    await waitFor(() => expect(pageText()).toBe('/login closed not-connected no-config -'));
    await waitFor(() => expect(h!.live()).toBe(0));

    go('/admin');
    await waitFor(() => expect(pageText()).toContain('/admin open connected admin admin:'));
    expect(h.sockets.created).toHaveLength(2);

    go('/chat/4711');
    await waitFor(() => expect(pageText()).toContain('/chat/4711 open connected chat chat:'));
    expect(h.sockets.created).toHaveLength(3);
    await waitFor(() => expect(h!.live()).toBe(1));
    expect(h.opened.map((c) => c.connectionType)).toEqual(['chat', 'admin', 'chat']);
  });

  it('a page with autoConnect false waits for connect()', async () => {
    h = harness(app, 'customer_789');
    render(
      <StrictMode>
        <WebSocketProvider options={h.options} isAuthenticated>
          <ManualPage />
        </WebSocketProvider>
      </StrictMode>,
    );
    await noAttemptPending();
    expect(h.sockets.created).toHaveLength(0);
    act(() => connect!());
    await waitFor(() => expect(pageText()).toBe('open'));
    expect(h.sockets.created).toHaveLength(1);
  });
});

describe('browser events through the provider', () => {
  it('goes offline with the window and comes back when it is online again', async () => {
    h = harness(app, 'customer_789');
    render(<App path="/chat" h={h} />);
    await waitFor(() => expect(pageText()).toContain('open'));
    const onLine = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(navigator), 'onLine');
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
    try {
      act(() => {
        window.dispatchEvent(new Event('offline'));
      });
      await waitFor(() => expect(pageText()).toContain('/chat offline'));
      await waitFor(() => expect(h!.live()).toBe(0));
    } finally {
      if (onLine) Object.defineProperty(navigator, 'onLine', onLine);
      else Reflect.deleteProperty(navigator, 'onLine');
    }
    act(() => {
      window.dispatchEvent(new Event('online'));
    });
    await waitFor(() => expect(pageText()).toContain('/chat open'));
    expect(h.sockets.created).toHaveLength(2);
  });
});

function Owned({
  userId,
  storageFor,
  authed = true,
}: {
  userId: string | null | undefined;
  storageFor: (userId: string) => OutboxStorage | null;
  authed?: boolean;
}) {
  return (
    <StrictMode>
      <WebSocketProvider options={h!.options} isAuthenticated={authed} userId={userId} outboxStorage={storageFor}>
        <Page path="/chat" />
      </WebSocketProvider>
    </StrictMode>
  );
}

describe('the outbox of the signed-in user (userId)', () => {
  const waiting = (conversationId: string, id: string): StoredMessage => ({
    conversationId,
    clientMessageId: id,
    content: `written before the reload ${id}`,
    createdAt: Date.now() - 1000,
    expiresAt: Date.now() + 60_000,
  });

  it('restores the user’s pending sends once, even in StrictMode, and sends them when connected', async () => {
    h = harness(app, 'customer_456');
    const storage = new MemoryOutboxStorage([waiting(app.conversationId(FACIAL), crypto.randomUUID())]);
    const asked: string[] = [];
    const storageFor = (userId: string) => {
      asked.push(userId);
      return storage;
    };
    render(<Owned userId="customer-456" storageFor={storageFor} />);
    await waitFor(() => expect(pageText()).toContain('open'));
    await waitFor(() => expect(storage.ids).toEqual([]));
    expect(asked).toEqual(['customer-456']);
    expect(storage.calls.filter((c) => c === 'load')).toHaveLength(1);
    expect(grabbed!.pendingMessages).toBe(0);
  });

  it('a change of user discards the previous user’s pending sends from memory, with or without a storage', async () => {
    h = harness(app, 'customer_456');
    const storages = new Map([
      ['alice', new MemoryOutboxStorage([waiting('c1', 'alice-1')])],
      ['bob', new MemoryOutboxStorage()],
    ]);
    const view = render(<Owned userId="alice" storageFor={(id) => storages.get(id)!} authed={false} />);
    await waitFor(() => expect(grabbed!.pendingMessages).toBe(1));
    view.rerender(<Owned userId="bob" storageFor={(id) => storages.get(id)!} authed={false} />);
    await waitFor(() => expect(grabbed!.pendingMessages).toBe(0));
    expect(storages.get('alice')!.ids).toEqual(['alice-1']);
    expect(storages.get('bob')!.calls).toEqual(['load']);

    // No storage (a browser without IndexedDB): memory only, still never sent as the next user.
    cleanup();
    const memoryOnly = () => null;
    const second = render(<Owned userId="carol" storageFor={memoryOnly} authed={false} />);
    grabbed!.send('c1', 'carol typed this').catch(() => undefined);
    expect(grabbed!.pendingMessages).toBe(1);
    second.rerender(<Owned userId={null} storageFor={memoryOnly} authed={false} />);
    await waitFor(() => expect(grabbed!.pendingMessages).toBe(0));
    expect(h.sockets.created).toHaveLength(0);
  });
});
