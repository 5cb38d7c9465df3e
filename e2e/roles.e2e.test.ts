/**
 * Issue #17 item 5 (in part): screens fit the role. Connection controls (connect / disconnect /
 * reconnect) and the 连接测试 menu item are developer tools: an admin sees them, a customer does not.
 */
import { expect, it } from 'vitest';
import { useStack } from './support/lifecycle.ts';
import { signedInPage, waitForStatus } from './support/pages.ts';

const files = useStack();

it('a customer sees no connection controls and no 连接测试 link; an admin sees both', async () => {
  const { stack } = files;
  const customer = await signedInPage(stack.browser, stack.web.url, 'customer_456');
  const admin = await signedInPage(stack.browser, stack.web.url, 'admin');
  files.open.push(customer, admin);
  await customer.page.goto('/customer/chat');
  await admin.page.goto('/chat');
  for (const user of [customer, admin]) await waitForStatus(user.page, 'open');
  const seen = async (page: typeof customer.page) => ({
    controls: await page.locator('.anmei-ws-status__controls').count(),
    testLink: await page.getByRole('link', { name: '连接测试' }).count(),
  });
  expect(await seen(customer.page)).toEqual({ controls: 0, testLink: 0 });
  expect(await seen(admin.page)).toEqual({ controls: 1, testLink: 1 });
});

it('a session that ended sends the user to /login, which says so', async () => {
  const { stack } = files;
  const customer = await signedInPage(stack.browser, stack.web.url, 'customer_456');
  files.open.push(customer);
  // The token stops being valid (as when it expires): its signature no longer matches.
  await customer.page.evaluate(() => {
    const session = JSON.parse(window.localStorage.getItem('anmei.session') ?? '{}') as { token: string };
    session.token = `${session.token.slice(0, -4)}AAAA`;
    window.localStorage.setItem('anmei.session', JSON.stringify(session));
  });
  // Only until the response commits: the page's own redirect to /login may come before its load
  // event, and a `goto` waiting for that event then fails with net::ERR_ABORTED (seen in CI).
  await customer.page.goto('/customer/chat', { waitUntil: 'commit' });
  await customer.page.waitForURL((url) => url.pathname === '/login');
  await customer.page.getByText('登录已过期，请重新登录').waitFor();
});
