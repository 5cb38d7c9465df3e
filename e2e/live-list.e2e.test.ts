/**
 * Issue #17 item 4 (in part): a consultation a customer starts appears in the consultant's open
 * list at once, from the `conversation_started` frame, without a request for the list; online state
 * follows `presence` frames (no poll).
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { useStack } from './support/lifecycle.ts';
import { openConversation, signedInPage, waitForStatus } from './support/pages.ts';

const files = useStack();

it("a started consultation shows in the consultant's list from its notice frame, with no list request", async () => {
  const { stack } = files;
  const consultant = await signedInPage(stack.browser, stack.web.url, 'consultant_001');
  files.open.push(consultant);
  await waitForStatus(consultant.page, 'open');
  await consultant.page.locator('[data-testid="conversation-item"]').first().waitFor();
  const listRequests: string[] = [];
  consultant.page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/v1/conversations') listRequests.push(request.method());
  });

  const login = await fetch(`${stack.api.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'customer_789', password: 'demo1234' }),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };
  const title = `直播列表 ${randomUUID().slice(0, 6)}`;
  const started = Date.now();
  const created = await fetch(`${stack.api.url}/api/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title }),
  });
  expect(created.status).toBe(201);
  await consultant.page.locator('[data-testid="conversation-item"]', { hasText: title }).waitFor({ timeout: 5_000 });
  console.log(`new consultation in the consultant's list ${Date.now() - started} ms after it was started`);
  // The list is never polled (only a window focus reloads it): the frame did it.
  expect(listRequests).toEqual([]);
});

it('online state follows the customer live, in the header and the list, with no list request', async () => {
  const { stack } = files;
  const consultant = await signedInPage(stack.browser, stack.web.url, 'consultant_001');
  files.open.push(consultant);
  await waitForStatus(consultant.page, 'open');
  await openConversation(consultant.page, '王小姐的面部护理咨询');
  const header = consultant.page.locator('.thread-people span', { hasText: '王小姐' });
  await header.filter({ hasText: '离线' }).waitFor();
  const listRequests: string[] = [];
  consultant.page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/v1/conversations') listRequests.push(request.method());
  });

  const customer = await signedInPage(stack.browser, stack.web.url, 'customer_456');
  await waitForStatus(customer.page, 'open');
  await header.filter({ hasText: '在线' }).waitFor({ timeout: 5_000 });
  const row = consultant.page.locator('[data-testid="conversation-item"]', { hasText: '王小姐的面部护理咨询' });
  await row.locator('[data-testid="presence"].online').waitFor({ timeout: 5_000 });
  await customer.close();
  await header.filter({ hasText: '离线' }).waitFor({ timeout: 5_000 });

  // She comes back (a reconnect of hers is a new socket): shown online again, still without a list request.
  const again = await signedInPage(stack.browser, stack.web.url, 'customer_456');
  files.open.push(again);
  await waitForStatus(again.page, 'open');
  await header.filter({ hasText: '在线' }).waitFor({ timeout: 5_000 });
  expect(listRequests).toEqual([]);
});
