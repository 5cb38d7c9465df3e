'use client';

import Link from 'next/link';
import type { FormEvent, ReactNode } from 'react';

/**
 * The card both /login and /register show: title, form, the form's error, the submit button and
 * the link to the other page. The fields come in as children (see AuthField).
 */
export function AuthCard(props: {
  id: string;
  title: string;
  subtitle: string;
  onSubmit: (event: FormEvent) => void;
  /** Set when the page checks the fields itself (its own texts instead of the browser's). */
  noValidate?: boolean;
  error: string | null;
  busy: boolean;
  submitLabel: string;
  busyLabel: string;
  switchPrompt: string;
  switchHref: string;
  switchLabel: string;
  children: ReactNode;
}) {
  return (
    <section className="card login-card" aria-labelledby={props.id}>
      <h1 id={props.id}>{props.title}</h1>
      <p className="muted">{props.subtitle}</p>
      <form onSubmit={props.onSubmit} className="form" noValidate={props.noValidate}>
        {props.children}
        {props.error ? (
          <p className="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <button type="submit" className="btn btn-primary btn-block" disabled={props.busy}>
          {props.busy ? props.busyLabel : props.submitLabel}
        </button>
      </form>
      <p className="muted auth-switch">
        {props.switchPrompt}
        <Link href={props.switchHref}>{props.switchLabel}</Link>
      </p>
    </section>
  );
}

/** A labelled, required input; with `hint`, a line under it that shows `problem` instead when there is one. */
export function AuthField(props: {
  label: string;
  name: string;
  type?: string;
  autoComplete: string;
  value: string;
  onChange: (value: string) => void;
  hint?: string;
  problem?: string | undefined;
}) {
  const hintId = `${props.name}-hint`;
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={props.type ?? 'text'}
        autoComplete={props.autoComplete}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.problem ? true : undefined}
        aria-describedby={props.hint === undefined ? undefined : hintId}
        required
      />
      {props.hint === undefined ? null : (
        <small id={hintId} className={props.problem ? 'field-error' : 'field-hint'} data-testid={hintId}>
          {props.problem ?? props.hint}
        </small>
      )}
    </label>
  );
}
