'use client';

import type { UiFrameOf } from '@anmei/client';
import { useWebSocketByPage, useWebSocketHandler } from '@anmei/react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ConnectionStatus } from '../../components/connection-status.tsx';
import { Bars, Sparkline } from '../../components/sparkline.tsx';
import { ROLE_LABELS, useSession } from '../../lib/session.ts';
import { APP_TEXTS } from '../../lib/user-messages.ts';
import { NotificationForm } from './notification-form.tsx';
import { fmt, PushFigures, percent, StatCard } from './stat-cards.tsx';
import { DEVICE_LABELS, UserMonitor } from './user-monitor.tsx';

type Stats = UiFrameOf<'stats'>['data'];

const HISTORY = 60;

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
        <p className="error">{APP_TEXTS.adminOnly}</p>
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
        <ConnectionStatus />
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
          {/* Instance ids are read whole (they name pods and hosts): wrapped, never cut off. */}
          <Bars data={latest?.byInstance ?? {}} wrapLabels />
          {latest ? (
            <p className="muted small instance-id" data-testid="instance-id">
              本实例：<span className="mono">{latest.instanceId}</span>
            </p>
          ) : null}
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
