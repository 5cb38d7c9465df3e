'use client';

import { type FormEvent, useState } from 'react';
import { changePassword } from '../lib/api.ts';
import { APP_TEXTS, FALLBACKS, userMessage } from '../lib/user-messages.ts';
import { AuthField } from './auth-form.tsx';

/** 修改密码 on the profile page: the current password, the new one twice (checked here before it is sent). */
export function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setDone(false);
    // The API's rule (8–128 characters), said in the user's words before a round trip.
    if ([...next].length < 8) return setError(APP_TEXTS.newPasswordTooShort);
    if (next !== again) return setError(APP_TEXTS.newPasswordsDiffer);
    setBusy(true);
    setError(null);
    try {
      await changePassword({ current_password: current, new_password: next });
      setDone(true);
      setCurrent('');
      setNext('');
      setAgain('');
    } catch (e) {
      setError(userMessage(e, FALLBACKS.changePassword));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={onSubmit} noValidate aria-labelledby="change-password-title">
      <h2 id="change-password-title">修改密码</h2>
      <AuthField
        label="当前密码"
        name="current_password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={setCurrent}
      />
      <AuthField
        label="新密码"
        name="new_password"
        type="password"
        autoComplete="new-password"
        value={next}
        onChange={setNext}
        hint="8–128 个字符"
      />
      <AuthField
        label="再次输入新密码"
        name="new_password_again"
        type="password"
        autoComplete="new-password"
        value={again}
        onChange={setAgain}
      />
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {done ? (
        <p className="success" role="status">
          {APP_TEXTS.passwordChanged}
        </p>
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? '正在修改…' : '修改密码'}
      </button>
    </form>
  );
}
