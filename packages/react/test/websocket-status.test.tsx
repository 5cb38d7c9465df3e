/**
 * <WebSocketStatus/> against the real API: it shows the real state (attempt and retry time
 * while reconnecting, RTT when open) and its buttons drive the connection.
 */
import type { ClientOptions } from '@anmei/client';
import { CloseCode } from '@anmei/protocol';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { StrictMode } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../client/test/support/real-api.ts';
import {
  useWebSocketByPage,
  useWebSocketClient,
  WEBSOCKET_STATUS_LABELS_ZH,
  WebSocketProvider,
  WebSocketStatus,
  type WebSocketStatusProps,
} from '../src/index.ts';
import { type Harness, harness } from './support/harness.ts';

let app: TestApp;
let h: Harness | undefined;
let client: ReturnType<typeof useWebSocketClient> | undefined;

beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => {
  cleanup();
  h?.stop();
  h = undefined;
});
afterAll(async () => {
  await app.close();
});

function ChatPage(props: WebSocketStatusProps) {
  useWebSocketByPage('/chat');
  client = useWebSocketClient();
  return <WebSocketStatus {...props} formatTime={() => 'soon'} />;
}

function renderStatus(props: WebSocketStatusProps = {}, options: Partial<ClientOptions> = {}) {
  h = harness(app, 'customer_456', { reconnectInterval: 50, maxReconnectDelay: 100, ...options });
  return render(
    <StrictMode>
      <WebSocketProvider options={h.options} isAuthenticated>
        <ChatPage {...props} />
      </WebSocketProvider>
    </StrictMode>,
  );
}

const status = () => screen.getByRole('status');
const button = (name: string) => screen.getByRole('button', { name });
const connectionId = () => (client!.state.status === 'open' ? client!.state.connectionId : null);

describe('<WebSocketStatus/>', () => {
  it('announces the state in a polite live region and exposes the state for styling', async () => {
    const view = renderStatus({ className: 'my-status' });
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    expect(status().getAttribute('aria-live')).toBe('polite');
    const root = view.container.firstElementChild!;
    expect(root.className).toBe('anmei-ws-status my-status');
    expect(root.getAttribute('data-status')).toBe('open');
    expect(screen.getByRole('group', { name: 'Connection controls' })).toBeTruthy();
  });

  it('Disconnect, Connect and Reconnect drive the real connection', async () => {
    renderStatus();
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    const first = connectionId();
    expect((button('Connect') as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(button('Disconnect'));
    await waitFor(() => expect(status().textContent).toBe('Disconnected · client disconnect'));
    await waitFor(() => expect(h!.live()).toBe(0));
    expect((button('Disconnect') as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(button('Connect'));
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    const second = connectionId();
    expect(second).not.toBe(first);

    fireEvent.click(button('Reconnect'));
    await waitFor(() => expect(connectionId()).not.toBeNull());
    await waitFor(() => expect(connectionId()).not.toBe(second));
    expect(status().textContent).toBe('Connected');
    await waitFor(() => expect(h!.opened).toHaveLength(3));
    await waitFor(() => expect(h!.live()).toBe(1));
  });

  it('shows the attempt and next retry time while reconnecting; Reconnect skips the wait', async () => {
    // random 0.5 and a 60 s first ceiling: the first retry is 30 s away, long enough to read it.
    renderStatus({}, { reconnectInterval: 60_000, maxReconnectDelay: 60_000, random: () => 0.5 });
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    const id = connectionId()!;

    act(() => app.built.ctx.local.get(id)!.socket.close(CloseCode.internalError, 'boom'));
    await waitFor(() => expect(status().textContent).toBe('Reconnecting · attempt 1/15 at soon'));
    const root = screen.getByRole('status').parentElement!;
    expect(root.getAttribute('data-status')).toBe('reconnecting');
    expect(h!.sockets.created).toHaveLength(1);

    fireEvent.click(button('Reconnect'));
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    expect(h!.sockets.created).toHaveLength(2);
  });

  it('shows the RTT once a ping was answered', async () => {
    renderStatus();
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    act(() => {
      client!.ping();
    });
    await waitFor(() => expect(status().textContent).toMatch(/^Connected · RTT \d+ ms$/));
  });

  it('shows the last error', async () => {
    renderStatus();
    await waitFor(() => expect(status().textContent).toBe('Connected'));
    const id = connectionId()!;
    act(() => app.built.ctx.local.get(id)!.socket.close(CloseCode.forbidden, 'forbidden'));
    await waitFor(() => expect(status().textContent).toBe('Disconnected · forbidden'));
    expect(screen.getByText('Last error: server closed with 4003 forbidden')).toBeTruthy();
  });

  it('takes other labels (the seed’s Chinese UI)', async () => {
    renderStatus({ labels: WEBSOCKET_STATUS_LABELS_ZH });
    await waitFor(() => expect(status().textContent).toBe('已连接'));
    expect(button('断开')).toBeTruthy();
  });
});
