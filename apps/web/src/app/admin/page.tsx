'use client';

import type { UiFrameOf } from '@anmei/client';
import { useWebSocketByPage, useWebSocketHandler, WEBSOCKET_STATUS_LABELS_ZH, WebSocketStatus } from '@anmei/react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Bars, Sparkline } from '../../components/sparkline.tsx';
import { api } from '../../lib/api.ts';
import { ROLE_LABELS, type Role, type SessionUser, useSession } from '../../lib/session.ts';

type Stats = UiFrameOf<'stats'>['data'];
interface AdminUser extends SessionUser {
  online: boolean;
}
interface Device {
  connection_id: string;
  device_type: string;
  connected_at: string;
  instance_id: string;
}

const HISTORY = 60;
const DEVICE_LABELS: Record<string, string> = { mobile: '手机', desktop: '电脑', tablet: '平板' };

export default function AdminPage() {
  const session = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session === null) router.replace('/login');
  }, [session, router]);
  if (!session) return <p className="muted center">加载中…</p>;
  if (session.user.role !== 'admin') {
    return (
      <section className="card narrow">
        <h1>管理后台</h1>
        <p className="error">仅管理员可访问此页面。</p>
        <Link href="/">返回首页</Link>
      </section>
    );
  }
  return <Dashboard />;
}

function Dashboard() {
  useWebSocketByPage();
  const [samples, setSamples] = useState<Stats[]>([]);
  const latest = samples.at(-1) ?? null;
  useWebSocketHandler('stats', (frame) => setSamples((list) => [...list.slice(-(HISTORY - 1)), frame.data]));

  const series = (pick: (s: Stats) => number) => samples.map(pick);
  const rate = latest?.push.successRate;
  return (
    <div className="admin">
      <div className="admin-head">
        <h1>管理后台 · 实时监控</h1>
        <WebSocketStatus className="ws-status-compact" labels={WEBSOCKET_STATUS_LABELS_ZH} />
      </div>
      <section className="stat-grid" aria-label="实时统计">
        <StatCard title="在线用户" value={latest?.onlineUsers} testId="stat-online-users">
          <Sparkline values={series((s) => s.onlineUsers)} label="在线用户趋势" />
        </StatCard>
        <StatCard title="连接数" value={latest?.connections} testId="stat-connections">
          <Sparkline values={series((s) => s.connections)} label="连接数趋势" color="#3b82f6" />
        </StatCard>
        <StatCard
          title="消息/秒"
          value={latest ? latest.messagesPerSecond.toFixed(2) : undefined}
          testId="stat-message-rate"
        >
          <Sparkline values={series((s) => s.messagesPerSecond)} label="消息速率趋势" color="#10b981" />
        </StatCard>
        <StatCard
          title="广播延迟 p50 / p99"
          value={
            latest ? `${fmt(latest.broadcastLatencyMs.p50)} / ${fmt(latest.broadcastLatencyMs.p99)} ms` : undefined
          }
          testId="stat-latency"
        >
          <Sparkline values={series((s) => s.broadcastLatencyMs.p99)} label="广播延迟趋势" color="#f59e0b" />
        </StatCard>
        <StatCard
          title="推送成功率"
          value={latest ? percent(rate) : undefined}
          testId="stat-push"
          className="stat-card-push"
        >
          <PushFigures push={latest?.push} />
        </StatCard>
      </section>
      <section className="breakdowns">
        <div className="card">
          <h2>按角色</h2>
          <Bars data={latest?.byRole ?? {}} labels={ROLE_LABELS} />
        </div>
        <div className="card">
          <h2>按设备类型</h2>
          <Bars data={latest?.byDeviceType ?? {}} labels={DEVICE_LABELS} />
        </div>
        <div className="card">
          <h2>按实例</h2>
          <Bars data={latest?.byInstance ?? {}} />
          {latest ? <p className="muted small">本实例：{latest.instanceId}</p> : null}
        </div>
      </section>
      <div className="admin-lower">
        <UserMonitor version={latest ? `${latest.onlineUsers}/${latest.connections}` : ''} />
        <NotificationForm />
      </div>
      {samples.length === 0 ? <p className="muted center">等待实时统计数据…</p> : null}
    </div>
  );
}

function fmt(n: number): string {
  return n < 10 ? n.toFixed(1) : n.toFixed(0);
}

/** A success rate (0…1) as a percentage; "—" when there were no attempts. */
function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

type PushStats = Stats['push'];
/** Display names of the push providers; a provider not listed here shows its own name. */
const PROVIDER_LABELS: Record<string, string> = {
  logging: '日志',
  webhook: 'Webhook',
  fcm: 'FCM (Android)',
  apns: 'APNs (iOS)',
  webpush: 'Web Push',
};
const PROVIDER_ORDER = Object.keys(PROVIDER_LABELS);

function providerRank(name: string): number {
  const rank = PROVIDER_ORDER.indexOf(name);
  return rank === -1 ? PROVIDER_ORDER.length : rank;
}

/**
 * This instance's push figures: totals, and one row per provider that has made attempts. `expired`,
 * `queued` and `by_provider` are missing from an older server's frames; their lines are then left out.
 */
function PushFigures({ push }: { push: PushStats | undefined }) {
  const providers = push?.byProvider
    ? Object.entries(push.byProvider).sort(([a], [b]) => providerRank(a) - providerRank(b) || a.localeCompare(b))
    : null;
  return (
    <>
      <p className="muted small">
        已发送 {push?.sent ?? 0} · 失败 {push?.failed ?? 0}
      </p>
      {push?.expired !== undefined || push?.queued !== undefined ? (
        <p
          className="muted small"
          title="本实例启动以来：过期 = 超过 PUSH_MAX_AGE 被丢弃的发送；已排队 = 推送决定排入队列的发送（累计）"
        >
          {[
            push.expired === undefined ? null : `过期 ${push.expired}`,
            push.queued === undefined ? null : `已排队 ${push.queued}`,
          ]
            .filter((part) => part !== null)
            .join(' · ')}
        </p>
      ) : null}
      {providers === null ? null : providers.length === 0 ? (
        <p className="muted small">各渠道：暂无推送</p>
      ) : (
        <table className="push-providers" aria-label="各渠道推送">
          <thead>
            <tr>
              <th scope="col">渠道</th>
              <th scope="col">已发送</th>
              <th scope="col">失败</th>
              <th scope="col">成功率</th>
            </tr>
          </thead>
          <tbody>
            {providers.map(([name, figures]) => (
              <tr key={name} data-testid="push-provider" data-provider={name}>
                <th scope="row">{PROVIDER_LABELS[name] ?? name}</th>
                <td data-testid="push-provider-sent">{figures.sent}</td>
                <td data-testid="push-provider-failed">{figures.failed}</td>
                <td data-testid="push-provider-rate">{percent(figures.successRate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function StatCard(props: {
  title: string;
  value: string | number | undefined;
  testId: string;
  className?: string;
  children?: React.ReactNode;
}) {
  return (
    <div className={props.className ? `card stat-card ${props.className}` : 'card stat-card'}>
      <span className="stat-title">{props.title}</span>
      <strong className="stat-value" data-testid={props.testId}>
        {props.value ?? '—'}
      </strong>
      {props.children}
    </div>
  );
}

/** Who is online, and each online user's devices (getUserDeviceInfo). Reloaded when presence figures change. */
function UserMonitor({ version }: { version: string }) {
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [devices, setDevices] = useState<Record<string, Device[]>>({});
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const { users: all } = await api<{ users: AdminUser[] }>('/api/v1/admin/users');
      setUsers(all);
      const online = all.filter((u) => u.online);
      const lists = await Promise.all(
        online.map((u) =>
          api<{ devices: Device[] }>(`/api/v1/admin/users/${encodeURIComponent(u.id)}/devices`).then(
            (r) => [u.id, r.devices] as const,
          ),
        ),
      );
      setDevices(Object.fromEntries(lists));
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the presence figures change
  useEffect(() => {
    void load();
  }, [load, version]);
  const sorted = [...users].sort((a, b) => Number(b.online) - Number(a.online));
  return (
    <section className="card" aria-labelledby="users-title">
      <h2 id="users-title">用户监控</h2>
      {error ? <p className="error">{error}</p> : null}
      <table className="table" data-testid="user-table">
        <thead>
          <tr>
            <th>用户</th>
            <th>角色</th>
            <th>状态</th>
            <th>设备</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((u) => (
            <tr key={u.id} data-testid="user-row" data-username={u.username} data-online={u.online}>
              <td>
                {u.display_name}
                <small className="muted block">{u.username}</small>
              </td>
              <td>{ROLE_LABELS[u.role as Role]}</td>
              <td>
                <span className={`dot ${u.online ? 'online' : 'offline'}`} />
                {u.online ? '在线' : '离线'}
              </td>
              <td>
                {(devices[u.id] ?? []).map((d) => (
                  <span key={d.connection_id} className="device" title={`${d.connection_id} @ ${d.instance_id}`}>
                    {DEVICE_LABELS[d.device_type] ?? d.device_type} ·{' '}
                    {new Date(d.connected_at).toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit' })}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function NotificationForm() {
  const [target, setTarget] = useState<'all' | 'conversation'>('all');
  const [conversationId, setConversationId] = useState('');
  const [title, setTitle] = useState('系统维护通知');
  const [message, setMessage] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      await api('/api/v1/admin/notifications', {
        body: {
          conversation_id: target === 'all' ? null : conversationId.trim(),
          title: title.trim(),
          message: message.trim(),
          type: 'announcement',
        },
      });
      setResult({ ok: true, text: target === 'all' ? '已发送给所有在线用户' : '已发送到该会话' });
      setMessage('');
    } catch (e) {
      setResult({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="notify-title">
      <h2 id="notify-title">发送系统通知</h2>
      <form className="form" onSubmit={submit}>
        <fieldset className="radio-row">
          <legend>发送对象</legend>
          <label>
            <input type="radio" name="target" checked={target === 'all'} onChange={() => setTarget('all')} />
            所有在线用户
          </label>
          <label>
            <input
              type="radio"
              name="target"
              checked={target === 'conversation'}
              onChange={() => setTarget('conversation')}
            />
            指定会话
          </label>
        </fieldset>
        {target === 'conversation' ? (
          <label>
            会话 ID
            <input value={conversationId} onChange={(e) => setConversationId(e.target.value)} required />
          </label>
        ) : null}
        <label>
          标题
          <input name="title" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
        </label>
        <label>
          内容
          <textarea
            name="message"
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            required
            maxLength={2000}
            rows={3}
          />
        </label>
        {result ? (
          <p className={result.ok ? 'success' : 'error'} role="status">
            {result.text}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? '发送中…' : '发送通知'}
        </button>
      </form>
    </section>
  );
}
