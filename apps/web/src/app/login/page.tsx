'use client';

import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { AuthCard, AuthField } from '../../components/auth-form.tsx';
import { login } from '../../lib/api.ts';
import { homeFor, ROLE_LABELS, type Role, saveSession } from '../../lib/session.ts';
import { APP_TEXTS, FALLBACKS, userMessage } from '../../lib/user-messages.ts';

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
      setError(APP_TEXTS.sessionExpired);
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
      setError(userMessage(e, FALLBACKS.login));
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void signIn(username.trim(), password);
  }

  return (
    <div className="login-wrap">
      <AuthCard
        id="login-title"
        title="登录安美智享"
        subtitle="医美在线咨询平台 · 客户、顾问、医生与管理员"
        onSubmit={onSubmit}
        error={error}
        busy={busy}
        submitLabel="登录"
        busyLabel="登录中…"
        switchPrompt="没有账号？"
        switchHref="/register"
        switchLabel="注册"
      >
        <AuthField label="用户名" name="username" autoComplete="username" value={username} onChange={setUsername} />
        <AuthField
          label="密码"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
        />
      </AuthCard>
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
