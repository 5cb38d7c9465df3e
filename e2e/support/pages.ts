/** Small page helpers: sign in through the UI, open a conversation, count WebSockets, screenshots. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, WebSocket } from 'playwright-core';
import { ROOT } from './stack.ts';

export const ARTIFACTS = join(ROOT, 'e2e/artifacts');
export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 390, height: 844 };

export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Every WebSocket the page opened, in order. */
  sockets: WebSocket[];
  close(): Promise<void>;
}

export async function openPage(browser: Browser, baseURL: string, viewport = DESKTOP): Promise<UserPage> {
  const context = await browser.newContext({ baseURL, viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  const sockets: WebSocket[] = [];
  page.on('websocket', (ws) => sockets.push(ws));
  page.setDefaultTimeout(15_000);
  return { context, page, sockets, close: () => context.close() };
}

/** Signs in on /login by clicking a demo account; resolves on the landing page. */
export async function signIn(user: UserPage, username: string): Promise<void> {
  const { page } = user;
  await page.goto('/login');
  await page.locator(`button[data-username="${username}"]`).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

export async function signedInPage(browser: Browser, baseURL: string, username: string, viewport = DESKTOP) {
  const user = await openPage(browser, baseURL, viewport);
  await signIn(user, username);
  return user;
}

export function wsStatus(page: Page) {
  return page.locator('.anmei-ws-status').first();
}

export async function waitForStatus(page: Page, status: string, timeout = 15_000): Promise<void> {
  await page.locator(`.anmei-ws-status[data-status="${status}"]`).first().waitFor({ timeout });
}

export async function openConversation(page: Page, title: string): Promise<void> {
  await page.locator('[data-testid="conversation-item"]', { hasText: title }).click();
  await page.locator('.thread-head h2', { hasText: title }).waitFor();
}

export async function sendText(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('send-button').click();
}

export function messageWithText(page: Page, text: string) {
  return page.locator('[data-testid="message"]', { hasText: text }).last();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** Proves a negative: nothing happens for `ms` (a short, deliberate wait; see TESTING.md). */
export function quietPeriod(ms = 750): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
