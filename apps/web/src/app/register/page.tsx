'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { ApiError, register, userMessage } from '../../lib/api.ts';
import { homeFor, saveSession } from '../../lib/session.ts';

type Field = 'username' | 'display_name' | 'password';

/** The API's rules for POST /auth/register (apps/api/src/http/routes/accounts.ts), said in Chinese. */
const RULES: Record<Field, string> = {
  username: '3–32 位小写字母、数字或下划线',
  display_name: '1–50 个字，将显示给顾问',
  password: '8–128 个字符',
};

const FIELD_LABELS: Record<Field, string> = { username: '用户名', display_name: '昵称', password: '密码' };

function check(values: Record<Field, string>): Partial<Record<Field, string>> {
  const problems: Partial<Record<Field, string>> = {};
  if (!/^[a-z0-9_]{3,32}$/.test(values.username)) problems.username = `用户名需为${RULES.username}`;
  const name = values.display_name.trim();
  if (name.length < 1 || name.length > 50) problems.display_name = '昵称需为 1–50 个字';
  if (values.password.length < 8 || values.password.length > 128) problems.password = `密码需为${RULES.password}`;
  return problems;
}

/** VALIDATION_FAILED names the fields in its (English) detail, e.g. "body.username: …". */
function invalidFields(error: ApiError): Field[] {
  return (['username', 'display_name', 'password'] as const).filter((f) => error.detail.includes(`body.${f}`));
}

/** Customer sign-up; signed in afterwards with the answer's token (the same session as /login). */
export default function RegisterPage() {
  const router = useRouter();
  const [values, setValues] = useState<Record<Field, string>>({ username: '', display_name: '', password: '' });
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<Field, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const input = { ...values, username: values.username.trim(), display_name: values.display_name.trim() };
    const problems = check(input);
    setFieldErrors(problems);
    setError(null);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      const result = await register(input);
      saveSession({ token: result.access_token, user: result.user });
      // `start=1`: the chat page opens the "new consultation" form, a new customer has none yet.
      router.push(`${homeFor(result.user.role)}?start=1`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'USERNAME_TAKEN') {
        setFieldErrors({ username: '用户名已被使用，请换一个' });
      } else if (e instanceof ApiError && e.code === 'VALIDATION_FAILED') {
        const fields = invalidFields(e);
        setFieldErrors(Object.fromEntries(fields.map((f) => [f, `${FIELD_LABELS[f]}需为${RULES[f]}`])));
        if (fields.length === 0) setError('填写的内容不符合要求，请检查后再试');
        console.warn('register refused', e.detail);
      } else {
        setError(userMessage(e, '注册失败，请稍后再试'));
      }
      setBusy(false);
    }
  }

  function field(name: Field, props: { type?: string; autoComplete: string }) {
    const problem = fieldErrors[name];
    return (
      <label>
        {FIELD_LABELS[name]}
        <input
          name={name}
          type={props.type ?? 'text'}
          autoComplete={props.autoComplete}
          value={values[name]}
          onChange={(e) => {
            setValues((v) => ({ ...v, [name]: e.target.value }));
            // The field's complaint goes once it is edited; the rule shows again.
            setFieldErrors(({ [name]: _, ...rest }) => rest);
          }}
          aria-invalid={problem ? true : undefined}
          aria-describedby={`${name}-hint`}
          required
        />
        <small id={`${name}-hint`} className={problem ? 'field-error' : 'field-hint'} data-testid={`${name}-hint`}>
          {problem ?? RULES[name]}
        </small>
      </label>
    );
  }

  return (
    <div className="login-wrap register-wrap">
      <section className="card login-card" aria-labelledby="register-title">
        <h1 id="register-title">注册安美智享</h1>
        <p className="muted">注册客户账号，与顾问在线咨询</p>
        <form onSubmit={onSubmit} className="form" noValidate>
          {field('username', { autoComplete: 'username' })}
          {field('display_name', { autoComplete: 'nickname' })}
          {field('password', { type: 'password', autoComplete: 'new-password' })}
          {error ? (
            <p className="error" role="alert">
              {error}
            </p>
          ) : null}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? '注册中…' : '注册并登录'}
          </button>
        </form>
        <p className="muted auth-switch">
          已有账号？<Link href="/login">登录</Link>
        </p>
      </section>
    </div>
  );
}
