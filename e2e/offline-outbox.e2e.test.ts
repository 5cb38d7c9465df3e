/**
 * Issue #17, item 1 (acceptance): a message written while the API is down is not lost on reload.
 * The customer writes two messages with the API stopped (shown as "发送中"), reloads the page, a
 * second tab of hers opens too; the API comes back → both are delivered exactly once, in order,
 * and shown once on every page (both of her tabs and the consultant's), and the server's history
 * has each once. In between, the browser's IndexedDB holds them (and nothing once they are acked).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useStack } from './support/lifecycle.ts';
import {
  DESKTOP,
  MOBILE,
  openConversation,
  quietPeriod,
  screenshot,
  sendText,
  signedInPage,
  type UserPage,
} from './support/pages.ts';

const FACIAL = '王小姐的面部护理咨询';

const files = useStack();
const open = files.open;

async function user(username: string, viewport = DESKTOP): Promise<UserPage> {
  const page = await signedInPage(files.stack.browser, files.stack.web.url, username, viewport);
  open.push(page);
  return page;
}

/**
 * Waits for the connection status. Unlike pages.ts's waitForStatus it does not need the indicator
 * visible: on a phone it sits in the conversation list, hidden while a thread is open.
 */
async function waitForStatus(page: Page, status: string, timeout = 15_000): Promise<void> {
  await page.locator(`.anmei-ws-status[data-status="${status}"]`).first().waitFor({ state: 'attached', timeout });
}

const bubbles = (page: Page, text: string) => page.locator('[data-testid="message"]', { hasText: text });
const pending = (page: Page, text: string) =>
  page.locator('[data-testid="message"][data-status="sending"]', { hasText: text });
const delivered = (page: Page, text: string) =>
  page.locator('[data-testid="message"]:not([data-status="sending"]):not([data-status="failed"])', { hasText: text });

/**
 * The contents of the signed-in user's outbox database, read straight from IndexedDB (not through
 * the app). Opening a database that does not exist would create it without its store, so check first.
 */
function outboxContents(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const session = JSON.parse(localStorage.getItem('anmei.session') ?? 'null') as { user: { id: string } } | null;
    if (!session) throw new Error('not signed in');
    const name = `anmei-outbox:${encodeURIComponent(session.user.id)}`;
    if (!(await indexedDB.databases()).some((db) => db.name === name)) return [];
    return new Promise<string[]>((resolve, reject) => {
      const opening = indexedDB.open(name);
      opening.onerror = () => reject(opening.error);
      opening.onsuccess = () => {
        const db = opening.result;
        const all = db.transaction('messages', 'readonly').objectStore('messages').getAll();
        all.onerror = () => reject(all.error);
        all.onsuccess = () => {
          db.close();
          resolve((all.result as { content: string }[]).map((record) => record.content));
        };
      };
    });
  });
}

/** Polls `check` every 200 ms until it holds; fails after `timeoutMs` naming what was awaited. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The texts of the thread's bubbles, top to bottom. */
function threadTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="message"] .bubble').allTextContents();
}

describe('offline outbox', () => {
  it('messages written with the API stopped survive a reload and are delivered once, in order, on both sides', async () => {
    const { api } = files.stack;
    const customer = await user('customer_456', MOBILE);
    const consultant = await user('consultant_001');
    await openConversation(customer.page, FACIAL);
    await openConversation(consultant.page, FACIAL);
    await waitForStatus(customer.page, 'open');
    await waitForStatus(consultant.page, 'open');

    // 1. The API goes down; the customer writes two messages: both wait as "发送中".
    await api.kill();
    await waitForStatus(customer.page, 'reconnecting');
    const stamp = Date.now();
    const texts = [`断网时写的第一条 ${stamp}`, `断网时写的第二条 ${stamp}`];
    for (const text of texts) {
      await sendText(customer.page, text);
      await pending(customer.page, text).waitFor();
    }
    // The bubble is drawn at once; the IndexedDB write completes just after.
    await until(
      async () => (await outboxContents(customer.page)).join('\n') === texts.join('\n'),
      'both messages in the outbox database, in order',
    );
    await screenshot(customer.page, 'offline-outbox-pending-mobile');

    // 2. Reload while the API is still down: the conversation (from the last list) shows both
    //    again as pending, restored from IndexedDB.
    await customer.page.reload();
    await waitForStatus(customer.page, 'reconnecting');
    await openConversation(customer.page, FACIAL);
    for (const text of texts) await pending(customer.page, text).waitFor();
    await customer.page.getByTestId('history-offline').waitFor();
    expect(await outboxContents(customer.page)).toEqual(texts);
    await screenshot(customer.page, 'offline-outbox-after-reload-mobile');

    // 3. A second tab of the same customer restores them too: when the API is back both tabs
    //    send them, with the same client message ids, so the server stores each once.
    const secondTab = await customer.context.newPage();
    secondTab.setDefaultTimeout(15_000);
    await secondTab.goto('/customer/chat');
    await openConversation(secondTab, FACIAL);
    for (const text of texts) await pending(secondTab, text).waitFor();

    // 4. The API is back: both are delivered, on every page.
    await api.restart();
    for (const page of [customer.page, secondTab, consultant.page]) await waitForStatus(page, 'open', 45_000);
    // The sender's side first (written and acked), then the receiver's: a failure says which half lost it.
    for (const text of texts) {
      await delivered(customer.page, text).waitFor({ timeout: 20_000 });
      await delivered(secondTab, text).waitFor({ timeout: 20_000 });
      await bubbles(consultant.page, text).waitFor({ timeout: 20_000 });
    }
    // Acked messages leave the outbox database.
    await until(async () => (await outboxContents(customer.page)).length === 0, 'the outbox database to empty');

    // Shown once, in order, everywhere: also after the history reloaded on reconnect and the
    // frames of the other tab's send arrived (a short wait to prove no second bubble comes).
    await quietPeriod(1500);
    for (const page of [customer.page, secondTab, consultant.page]) {
      for (const text of texts) expect(await bubbles(page, text).count()).toBe(1);
      const shown = (await threadTexts(page)).filter((t) => texts.some((text) => t.includes(text)));
      expect(shown).toEqual(texts);
    }
    await screenshot(customer.page, 'offline-outbox-delivered-mobile');
    await screenshot(consultant.page, 'offline-outbox-consultant-desktop');

    // The server's history has each once, in order, with its own client message id.
    const login = (await (
      await fetch(`${api.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'customer_456', password: 'demo1234' }),
      })
    ).json()) as { access_token: string };
    const auth = { authorization: `Bearer ${login.access_token}` };
    const { conversations } = (await (await fetch(`${api.url}/api/v1/conversations`, { headers: auth })).json()) as {
      conversations: { id: string; title: string }[];
    };
    const facial = conversations.find((c) => c.title === FACIAL)!;
    const history = (await (
      await fetch(`${api.url}/api/v1/chat/${facial.id}/messages?limit=100`, { headers: auth })
    ).json()) as { messages: { content: string; client_message_id: string | null; seq: number }[] };
    const ours = history.messages.filter((m) => texts.includes(m.content));
    expect(ours.map((m) => m.content)).toEqual(texts);
    expect(new Set(ours.map((m) => m.client_message_id)).size).toBe(2);
    expect(ours[1]!.seq).toBeGreaterThan(ours[0]!.seq);
    await secondTab.close();
  }, 180_000); // two reconnects after the restart, each up to a full-jitter backoff delay
});
