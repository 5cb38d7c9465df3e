'use client';

/** The dashboard's figure cards: a value with its trend, and this instance's push figures per provider. */
import type { UiFrameOf } from '@anmei/client';
import type { ReactNode } from 'react';

type Stats = UiFrameOf<'stats'>['data'];

export function fmt(n: number): string {
  return n < 10 ? n.toFixed(1) : n.toFixed(0);
}

/** A success rate (0…1) as a percentage; "—" when there were no attempts. */
export function percent(rate: number | null | undefined): string {
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
export function PushFigures({ push }: { push: PushStats | undefined }) {
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

export function StatCard(props: {
  title: string;
  value: string | number | undefined;
  testId: string;
  className?: string;
  children?: ReactNode;
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
