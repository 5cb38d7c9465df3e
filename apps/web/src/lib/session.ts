/**
 * The signed-in user, kept in localStorage (and the token also in a SameSite=Strict cookie so
 * <img>/<audio>/download links to attachments can be authorised by the same-origin proxy).
 */
import { useSyncExternalStore } from 'react';

export type Role = 'customer' | 'consultant' | 'doctor' | 'admin';

export interface SessionUser {
  id: string;
  username: string;
  display_name: string;
  role: Role;
}

export interface Session {
  token: string;
  user: SessionUser;
}

const KEY = 'anmei.session';

import { TOKEN_COOKIE } from './cookie.ts';

export { TOKEN_COOKIE };

const listeners = new Set<() => void>();
let cachedRaw: string | null | undefined;
let cached: Session | null = null;

export function readSession(): Session | null {
  if (typeof window === 'undefined') return null;
  const raw = window.localStorage.getItem(KEY);
  if (raw === cachedRaw) return cached;
  cachedRaw = raw;
  try {
    cached = raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    cached = null;
  }
  return cached;
}

function notify(): void {
  for (const listener of listeners) listener();
}

export function saveSession(session: Session): void {
  window.localStorage.setItem(KEY, JSON.stringify(session));
  // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser yet
  document.cookie = `${TOKEN_COOKIE}=${encodeURIComponent(session.token)}; path=/; SameSite=Strict`;
  notify();
}

export function clearSession(): void {
  window.localStorage.removeItem(KEY);
  // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser yet
  document.cookie = `${TOKEN_COOKIE}=; path=/; max-age=0; SameSite=Strict`;
  notify();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => {
    if (event.key === KEY) listener();
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

/** undefined while rendering on the server / before hydration; null when signed out. */
export function useSession(): Session | null | undefined {
  return useSyncExternalStore(subscribe, readSession, () => undefined);
}

export const ROLE_LABELS: Record<Role, string> = {
  customer: '客户',
  consultant: '顾问',
  doctor: '医生',
  admin: '管理员',
};

/** Where a user lands after signing in. */
export function homeFor(role: Role): string {
  return role === 'admin' ? '/admin' : `/${role}/chat`;
}
