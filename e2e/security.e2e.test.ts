/**
 * The web app's Content-Security-Policy in Chromium (issue #15): every page answers with a strict,
 * nonce-based policy; signing in, chatting over the WebSocket, the admin dashboard and the
 * connection test page run without a single violation; and markup injected into a page cannot run
 * code.
 */
import { expect, it } from 'vitest';
import { useStack } from './support/lifecycle.ts';
import { openConversation, openPage, sendText, signIn, waitForStatus } from './support/pages.ts';

const files = useStack();
const open = files.open;

/** A signed-in page that records every CSP violation the browser reports on it. */
async function watchedUser(username: string) {
  const user = await openPage(files.stack.browser, files.stack.web.url);
  open.push(user);
  const violations: string[] = [];
  user.page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await signIn(user, username); // watched from the login page on
  return { user, violations };
}

it('answers every page with a strict nonce policy that allows the WebSocket to the API and nothing else', async () => {
  const response = await fetch(`${files.stack.web.url}/login`);
  const policy = response.headers.get('content-security-policy') ?? '';
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{20,}' 'strict-dynamic'/);
  expect(policy).not.toMatch(/unsafe-eval|'unsafe-inline'[^;]*;?\s*$/);
  expect(policy).toContain(`connect-src 'self' ${new URL(files.stack.api.wsUrl).origin.replace('http', 'ws')}`);
  expect(policy).toContain("object-src 'none'");
  expect(policy).toContain("frame-ancestors 'none'");
  // A new nonce per response.
  const again = (await fetch(`${files.stack.web.url}/login`)).headers.get('content-security-policy');
  expect(again).not.toBe(policy);
});

it('signing in, chatting over the WebSocket, the admin dashboard and the connection test page cause no violation', async () => {
  const customer = await watchedUser('customer_456');
  await openConversation(customer.user.page, '王小姐的面部护理咨询');
  await waitForStatus(customer.user.page, 'open');
  await sendText(customer.user.page, 'CSP 下的消息');
  await customer.user.page.getByText('CSP 下的消息').first().waitFor();
  const admin = await watchedUser('admin');
  await admin.user.page.goto('/admin');
  await waitForStatus(admin.user.page, 'open');
  await admin.user.page.goto('/test-websocket');
  await admin.user.page.getByTestId('ws-connect').click();
  await admin.user.page.getByTestId('ws-state').filter({ hasText: 'open' }).waitFor();
  expect([...customer.violations, ...admin.violations]).toEqual([]);
});

it('markup injected into a page cannot run code: an inline event handler is blocked and reported', async () => {
  const { user, violations } = await watchedUser('customer_456');
  const ran = await user.page.evaluate(async () => {
    const flags = window as unknown as Record<string, unknown>;
    // What an HTML injection would add: inline handlers run only under 'unsafe-inline'.
    document.body.insertAdjacentHTML('beforeend', '<img src="data:," onerror="window.__byHandler = 1">');
    // A short wait only to let a handler that should not run have its chance (proving absence).
    await new Promise((resolve) => setTimeout(resolve, 200));
    return flags.__byHandler ?? null;
  });
  expect(ran).toBeNull();
  expect(violations.some((v) => /script-src/.test(v))).toBe(true);
});
