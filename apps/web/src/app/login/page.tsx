'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { login, userMessage } from '../../lib/api.ts';
import { homeFor, ROLE_LABELS, type Role, saveSession } from '../../lib/session.ts';

const DEMO: { username: string; name: string; role: Role }[] = [
  { username: 'customer_456', name: '王小姐', role: 'customer' },
  { username: 'customer_789', name: '李先生', role: 'customer' },
  { username: 'consultant_001', name: '张顾问', role: 'consultant' },
  { username: 'doctor_001', name: '刘医生', role: 'doctor' },
  { username: 'admin', name: '系统管理员', role: 'admin' },
];

/** Sign-in. This page never opens a WebSocket (NO_SOCKET_ROUTES), and does not use the hook. */
export default function LoginPage() {
  const router = useRouter();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Sent here because the session ended (an API answer was 401): say so until the next try.
  useEffect(() => {
    if (new URLSearchParams(window.location.search).get('expired') === '1') {
      setError('登录已过期，请重新登录');
    }
  }, []);

  async function signIn(user: string, pass: string) {
    setBusy(true);
    setError(null);
    try {
      const result = await login(user, pass);
      saveSession({ token: result.access_token, user: result.user });
      router.push(homeFor(result.user.role));
    } catch (e) {
      // Known codes (wrong password, 429 RATE_LIMITED, …) in Chinese; anything else generic.
      setError(userMessage(e, '登录失败，请稍后再试'));
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void signIn(username.trim(), password);
  }

  return (
    <div className="login-wrap">
      <section className="card login-card" aria-labelledby="login-title">
        <h1 id="login-title">登录安美智享</h1>
        <p className="muted">医美在线咨询平台 · 客户、顾问、医生与管理员</p>
        <form onSubmit={onSubmit} className="form">
          <label>
            用户名
            <input
              name="username"
              autoComplete="username"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              required
            />
          </label>
          <label>
            密码
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </label>
          {error ? (
            <p className="error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? '登录中…' : '登录'}
          </button>
        </form>
        <p className="muted auth-switch">
          没有账号？<Link href="/register">注册</Link>
        </p>
      </section>
      <section className="card demo-card" aria-labelledby="demo-title">
        <h2 id="demo-title">演示账号</h2>
        <p className="muted">密码均为 demo1234，点击即可登录。</p>
        <ul className="demo-list">
          {DEMO.map((account) => (
            <li key={account.username}>
              <button
                type="button"
                className="demo-account"
                data-username={account.username}
                disabled={busy}
                onClick={() => void signIn(account.username, 'demo1234')}
              >
                <span className="avatar">{account.name.slice(0, 1)}</span>
                <span className="demo-who">
                  <strong>{account.name}</strong>
                  <small>{account.username}</small>
                </span>
                <span className={`role-tag role-${account.role}`}>{ROLE_LABELS[account.role]}</span>
              </button>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
