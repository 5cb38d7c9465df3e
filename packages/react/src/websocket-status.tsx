/**
 * Connection state indicator with connect / disconnect / reconnect buttons (seed:
 * WebSocketStatus.tsx). The state text is a polite live region, so screen readers hear
 * changes; buttons are disabled when they would do nothing. Style it through `className`
 * (the root also carries `data-status`) and the `anmei-ws-status__*` part classes.
 */
import type { ClientError, ConnectionState } from '@anmei/client';
import type { ReactNode } from 'react';
import { useWebSocketClient, useWebSocketState } from './use-websocket.ts';

export interface WebSocketStatusLabels {
  idle: string;
  connecting: string;
  open: string;
  reconnecting: string;
  offline: string;
  closed: string;
  unauthorized: string;
  failed: string;
  connect: string;
  disconnect: string;
  reconnect: string;
  controls: string;
  /** `{attempt}` `{max}` `{time}` are replaced. */
  retry: string;
  /** Shown instead of `retry` when the server asked the client to move (not counted as an attempt). */
  move: string;
  /** `{ms}` is replaced. */
  rtt: string;
  error: string;
}

export const WEBSOCKET_STATUS_LABELS: WebSocketStatusLabels = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  closed: 'Disconnected',
  unauthorized: 'Signed out: log in again',
  failed: 'Connection failed',
  connect: 'Connect',
  disconnect: 'Disconnect',
  reconnect: 'Reconnect',
  controls: 'Connection controls',
  retry: 'attempt {attempt}/{max} at {time}',
  move: 'server moving us, again at {time}',
  rtt: 'RTT {ms} ms',
  error: 'Last error',
};

export const WEBSOCKET_STATUS_LABELS_ZH: WebSocketStatusLabels = {
  idle: '未连接',
  connecting: '连接中…',
  open: '已连接',
  reconnecting: '重连中',
  offline: '网络已断开',
  closed: '已断开',
  unauthorized: '登录已失效，请重新登录',
  failed: '连接失败',
  connect: '连接',
  disconnect: '断开',
  reconnect: '重连',
  controls: '连接控制',
  retry: '第 {attempt}/{max} 次，{time} 重试',
  move: '服务器迁移中，{time} 重连',
  rtt: '延迟 {ms} 毫秒',
  error: '最近错误',
};

export interface WebSocketStatusProps {
  className?: string;
  labels?: Partial<WebSocketStatusLabels>;
  /** Hide the buttons (indicator only). Default true. */
  showControls?: boolean;
  /** Formats the next retry time (epoch ms). Default: `toLocaleTimeString()`. */
  formatTime?: (epochMs: number) => string;
  /**
   * The text shown for the last error. Default: its `reason` (the client's English text). An app
   * that speaks to end users passes its own catalogue here, and the reason stays in `title`.
   */
  describeError?: (error: ClientError) => string;
  /** The text shown for a closed or failed connection. Default: the close reason, else `code <n>`. */
  describeClose?: (code: number, reason: string) => string;
}

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => String(values[key] ?? whole));
}

const defaultClose = (code: number, reason: string) => reason || `code ${code}`;

function details(
  state: ConnectionState,
  rttMs: number | null,
  l: WebSocketStatusLabels,
  time: (ms: number) => string,
  close: (code: number, reason: string) => string,
) {
  if (state.status === 'open' && rttMs !== null) return fill(l.rtt, { ms: Math.round(rttMs) });
  if (state.status === 'reconnecting') {
    const values = { attempt: state.attempt, max: state.maxAttempts, time: time(state.nextRetryAt) };
    return fill(state.attempt === 0 ? l.move : l.retry, values);
  }
  if (state.status === 'closed' || state.status === 'failed') return close(state.code, state.reason);
  return null;
}

export function WebSocketStatus(props: WebSocketStatusProps): ReactNode {
  const { className, showControls = true } = props;
  const labels = { ...WEBSOCKET_STATUS_LABELS, ...props.labels };
  const formatTime = props.formatTime ?? ((ms: number) => new Date(ms).toLocaleTimeString());
  const client = useWebSocketClient();
  const { state, rttMs, lastError } = useWebSocketState();
  const status = state.status;
  const extra = details(state, rttMs, labels, formatTime, props.describeClose ?? defaultClose);
  const busy = status === 'connecting' || status === 'open';

  return (
    <div className={['anmei-ws-status', className].filter(Boolean).join(' ')} data-status={status}>
      <span className="anmei-ws-status__state" role="status" aria-live="polite" aria-atomic="true">
        <span className="anmei-ws-status__label">{labels[status]}</span>
        {extra ? <span className="anmei-ws-status__details"> · {extra}</span> : null}
      </span>
      {/* An error from before the connection opened is history once it is open: not shown then. */}
      {lastError && status !== 'open' ? (
        <span className="anmei-ws-status__error" title={lastError.code}>
          {labels.error}: {props.describeError ? props.describeError(lastError) : lastError.reason}
        </span>
      ) : null}
      {showControls ? (
        <fieldset className="anmei-ws-status__controls" aria-label={labels.controls}>
          <button type="button" disabled={busy} onClick={() => client.connect()}>
            {labels.connect}
          </button>
          <button type="button" disabled={status === 'idle' || status === 'closed'} onClick={() => client.disconnect()}>
            {labels.disconnect}
          </button>
          <button type="button" disabled={status === 'connecting'} onClick={() => client.reconnect()}>
            {labels.reconnect}
          </button>
        </fieldset>
      ) : null}
    </div>
  );
}
