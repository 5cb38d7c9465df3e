'use client';

import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { AuthCard, AuthField } from '../../components/auth-form.tsx';
import { ApiError, register } from '../../lib/api.ts';
import { homeFor, saveSession } from '../../lib/session.ts';
import { ERROR_TEXTS, FALLBACKS, REGISTER_TEXTS, userMessage } from '../../lib/user-messages.ts';

type Field = 'username' | 'display_name' | 'password';

const { rules: RULES, labels: FIELD_LABELS, problem } = REGISTER_TEXTS;

function check(values: Record<Field, string>): Partial<Record<Field, string>> {
  const problems: Partial<Record<Field, string>> = {};
  if (!/^[a-z0-9_]{3,32}$/.test(values.username)) problems.username = problem('username');
  const name = values.display_name.trim();
  if (name.length < 1 || name.length > 50) problems.display_name = problem('display_name');
  if (values.password.length < 8 || values.password.length > 128) problems.password = problem('password');
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
        setFieldErrors({ username: ERROR_TEXTS.USERNAME_TAKEN });
      } else if (e instanceof ApiError && e.code === 'VALIDATION_FAILED') {
        const fields = invalidFields(e);
        setFieldErrors(Object.fromEntries(fields.map((f) => [f, problem(f)])));
        if (fields.length === 0) setError(ERROR_TEXTS.VALIDATION_FAILED);
        console.warn('register refused', e.detail);
      } else {
        setError(userMessage(e, FALLBACKS.register));
      }
      setBusy(false);
    }
  }

  function field(name: Field, props: { type?: string; autoComplete: string }) {
    return (
      <AuthField
        label={FIELD_LABELS[name]}
        name={name}
        autoComplete={props.autoComplete}
        {...(props.type ? { type: props.type } : {})}
        value={values[name]}
        onChange={(value) => {
          setValues((v) => ({ ...v, [name]: value }));
          // The field's complaint goes once it is edited; the rule shows again.
          setFieldErrors(({ [name]: _, ...rest }) => rest);
        }}
        hint={RULES[name]}
        problem={fieldErrors[name]}
      />
    );
  }

  return (
    <div className="login-wrap register-wrap">
      <AuthCard
        id="register-title"
        title="注册安美智享"
        subtitle="注册客户账号，与顾问在线咨询"
        onSubmit={onSubmit}
        noValidate
        error={error}
        busy={busy}
        submitLabel="注册并登录"
        busyLabel="注册中…"
        switchPrompt="已有账号？"
        switchHref="/login"
        switchLabel="登录"
      >
        {field('username', { autoComplete: 'username' })}
        {field('display_name', { autoComplete: 'nickname' })}
        {field('password', { type: 'password', autoComplete: 'new-password' })}
      </AuthCard>
    </div>
  );
}
