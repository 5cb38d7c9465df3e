'use client';

import { useWebSocketByPage, useWebSocketState } from '@anmei/react';
import { useRouter } from 'next/navigation';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { ConnectionStatus } from '../../components/connection-status.tsx';
import { frameLog } from '../../lib/frame-log.ts';
import { useSession } from '../../lib/session.ts';
import { APP_TEXTS, connectionErrorText } from '../../lib/user-messages.ts';

const TEMPLATES: Record<string, object> = {
  ping: { action: 'ping', data: { ts: 0 } },
  send_message: {
    action: 'send_message',
    request_id: 'req-1',
    data: { conversation_id: '<会话 ID>', client_message_id: 'test-1', content: '测试消息' },
  },
  typing: { action: 'typing', data: { conversation_id: '<会话 ID>', is_typing: true } },
  read: { action: 'read', data: { conversation_id: '<会话 ID>', message_ids: ['<消息 ID>'] } },
};

/** Connect by hand (autoConnect: false), see every raw frame in and out, send any text, state and RTT. */
export default function TestWebSocketPage() {
  const session = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === null) router.replace('/login');
  }, [session, router]);
  const ws = useWebSocketByPage();
  const { rttMs, state, lastError } = useWebSocketState();
  const frames = useSyncExternalStore(frameLog.subscribe, frameLog.snapshot, frameLog.empty);
  const [draft, setDraft] = useState(() => JSON.stringify({ ...TEMPLATES.ping, data: { ts: Date.now() } }, null, 2));
  const [sendError, setSendError] = useState<string | null>(null);

  function sendDraft() {
    setSendError(null);
    if (!frameLog.sendRaw(draft)) setSendError(APP_TEXTS.notConnected);
  }

  return (
    <div className="testws">
      <div className="admin-head">
        <h1>WebSocket 连接测试</h1>
        <ConnectionStatus />
      </div>
      <section className="card testws-controls">
        <div className="button-row">
          <button type="button" className="btn btn-primary" data-testid="ws-connect" onClick={ws.connect}>
            连接
          </button>
          <button type="button" className="btn" data-testid="ws-disconnect" onClick={ws.disconnect}>
            断开
          </button>
          <button type="button" className="btn" disabled={!ws.isConnected} onClick={() => ws.client.ping()}>
            Ping（测 RTT）
          </button>
        </div>
        <dl className="facts inline">
          <dt>状态</dt>
          <dd data-testid="ws-state">{state.status}</dd>
          <dt>RTT</dt>
          <dd data-testid="ws-rtt">{rttMs === null ? '—' : `${rttMs.toFixed(0)} ms`}</dd>
          <dt>待确认消息</dt>
          <dd>{ws.client.pendingMessages}</dd>
          {state.status === 'open' ? (
            <>
              <dt>连接 ID</dt>
              <dd className="mono">{state.connectionId}</dd>
            </>
          ) : null}
          {lastError ? (
            <>
              <dt>最近错误</dt>
              {/* The code helps whoever tests the connection; the English reason is in the console. */}
              <dd className="error" title={lastError.code}>
                {connectionErrorText(lastError)}
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      <div className="testws-grid">
        <section className="card">
          <h2>发送任意帧</h2>
          <div className="button-row">
            {Object.keys(TEMPLATES).map((name) => (
              <button
                key={name}
                type="button"
                className="btn btn-small"
                onClick={() =>
                  setDraft(
                    JSON.stringify(
                      name === 'ping' ? { action: 'ping', data: { ts: Date.now() } } : TEMPLATES[name],
                      null,
                      2,
                    ),
                  )
                }
              >
                {name}
              </button>
            ))}
          </div>
          <textarea
            className="mono frame-editor"
            aria-label="帧内容"
            data-testid="frame-editor"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            rows={10}
          />
          {sendError ? <p className="error">{sendError}</p> : null}
          <button type="button" className="btn btn-primary" data-testid="frame-send" onClick={sendDraft}>
            发送原始帧
          </button>
        </section>
        <section className="card">
          <div className="card-head">
            <h2>原始帧（{frames.length}）</h2>
            <button type="button" className="btn btn-small btn-ghost" onClick={frameLog.clear}>
              清空
            </button>
          </div>
          <ol className="frames" data-testid="frames">
            {[...frames].reverse().map((f) => (
              <li key={f.id} className={`frame frame-${f.direction}`} data-direction={f.direction}>
                <span className="frame-dir">{f.direction === 'in' ? '↓ 收' : '↑ 发'}</span>
                <span className="frame-time">{new Date(f.at).toLocaleTimeString('zh-CN')}</span>
                <code>{f.text}</code>
              </li>
            ))}
          </ol>
        </section>
      </div>
    </div>
  );
}
