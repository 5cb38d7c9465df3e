'use client';

import Link from 'next/link';
import { ChangePassword } from '../../components/change-password.tsx';
import { homeFor, ROLE_LABELS, useSession } from '../../lib/session.ts';

/** No WebSocket needs: not in PAGE_WEBSOCKET_CONFIG, does not use the hook, so no socket is open here. */
export default function ProfilePage() {
  const session = useSession();
  if (session === undefined) return <p className="muted center">加载中…</p>;
  if (session === null)
    return (
      <section className="card narrow">
        <h1>个人中心</h1>
        <p>
          请先<Link href="/login">登录</Link>。
        </p>
      </section>
    );
  const { user } = session;
  return (
    <section className="card narrow" aria-labelledby="profile-title">
      <h1 id="profile-title">个人中心</h1>
      <dl className="facts">
        <dt>姓名</dt>
        <dd>{user.display_name}</dd>
        <dt>用户名</dt>
        <dd>{user.username}</dd>
        <dt>角色</dt>
        <dd>{ROLE_LABELS[user.role]}</dd>
        <dt>用户 ID</dt>
        <dd className="mono">{user.id}</dd>
      </dl>
      <ChangePassword />
      <p className="muted">本页面不需要实时连接，因此不会建立 WebSocket。</p>
      <Link className="btn btn-primary" href={user.role === 'admin' ? '/admin' : homeFor(user.role)}>
        {user.role === 'admin' ? '返回管理后台' : '返回咨询'}
      </Link>
    </section>
  );
}
