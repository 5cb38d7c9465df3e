/**
 * The web app in a real browser (Debian's Chromium via playwright-core) against the real API:
 * production build of apps/web, API as a child process so it can be killed and restarted.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  MOBILE,
  messageWithText,
  openConversation,
  openPage,
  quietPeriod,
  screenshot,
  sendText,
  signedInPage,
  signIn,
  type UserPage,
  waitForStatus,
} from './support/pages.ts';
import { type ApiServer, type Stack, startStack, type WebServer } from './support/stack.ts';

const FACIAL = '王小姐的面部护理咨询';
const FOLLOW_UP = '李先生的术后复诊';
// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let api: ApiServer;
let web: WebServer;
let browser: Browser;
const open: UserPage[] = [];

async function user(username: string, viewport = DESKTOP): Promise<UserPage> {
  const page = await signedInPage(browser, web.url, username, viewport);
  open.push(page);
  return page;
}

async function apiLogin(username: string): Promise<string> {
  const response = await fetch(`${api.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'demo1234' }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  ({ api, web, browser } = stack);
});

// A failed test shows what the API said meanwhile (its log is otherwise never printed).
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`API log (last lines):\n${api?.logTail()}`));
});

afterAll(async () => {
  await Promise.all(open.map((p) => p.close().catch(() => undefined)));
  await stack?.stop();
});

describe('web app', () => {
  /** The customer and the consultant, each signed in on their own page, both in `title` with an open socket. */
  async function customerAndConsultantIn(title: string) {
    const customer = await user('customer_456');
    const consultant = await user('consultant_001');
    await openConversation(customer.page, title);
    await openConversation(consultant.page, title);
    await waitForStatus(customer.page, 'open');
    await waitForStatus(consultant.page, 'open');
    return { customer, consultant };
  }

  it('login and pages without WebSocket needs make zero WebSocket connections', async () => {
    const visitor = await openPage(browser, web.url);
    open.push(visitor);
    const { page, sockets } = visitor;
    await page.goto('/login');
    await page.locator('button[data-username="customer_456"]').waitFor();
    await page.waitForLoadState('networkidle');
    await quietPeriod(); // proving a negative: nothing opens a socket on /login
    expect(sockets).toHaveLength(0);
    await screenshot(page, 'login-desktop');

    await page.goto('/help');
    await page.getByRole('heading', { name: '帮助' }).waitFor();
    await page.waitForLoadState('networkidle');
    await quietPeriod();
    expect(sockets).toHaveLength(0);
    await screenshot(page, 'help-desktop');

    // Signed in: the chat page opens exactly one socket; a fresh load of /profile opens none.
    await signIn(visitor, 'customer_456');
    await waitForStatus(page, 'open');
    expect(sockets).toHaveLength(1);
    await page.goto('/profile');
    await page.getByRole('heading', { name: '个人中心' }).waitFor();
    await page.waitForLoadState('networkidle');
    await quietPeriod();
    expect(sockets).toHaveLength(1);
    await screenshot(page, 'profile-desktop');

    // Navigating (client-side) from chat to a page without a config closes the socket.
    await page.goto('/customer/chat');
    await waitForStatus(page, 'open');
    const chatSocket = sockets.at(-1)!;
    await page.getByRole('navigation').getByRole('link', { name: '个人中心' }).click();
    await page.getByRole('heading', { name: '个人中心' }).waitFor();
    if (!chatSocket.isClosed()) await chatSocket.waitForEvent('close');
    expect(sockets).toHaveLength(2);
  });

  it('a customer and a consultant chat both ways, with typing indicator, read receipts and unread counts', async () => {
    const { customer, consultant } = await customerAndConsultantIn(FACIAL);

    // Typing indicator appears while the consultant types and disappears when the input is cleared.
    await consultant.page.getByTestId('composer-input').fill('您好，请问');
    const typing = customer.page.getByTestId('typing-indicator');
    await typing.waitFor();
    expect(await typing.textContent()).toContain('张顾问');
    await consultant.page.getByTestId('composer-input').fill('');
    await typing.waitFor({ state: 'detached' });

    // Customer → consultant; the consultant has the thread open, so it turns "read" on the customer's side.
    const hello = `顾问您好，我想咨询祛斑 ${Date.now()}`;
    await sendText(customer.page, hello);
    await messageWithText(consultant.page, hello).waitFor();
    await customer.page.locator('[data-testid="conversation-item"]', { hasText: hello }).waitFor(); // list preview
    await customer.page.locator('[data-testid="message"][data-status="read"]', { hasText: hello }).waitFor();

    // Consultant → customer.
    const reply = `您好，建议先面诊评估 ${Date.now()}`;
    await sendText(consultant.page, reply);
    await messageWithText(customer.page, reply).waitFor();
    await consultant.page.locator('[data-testid="message"][data-status="read"]', { hasText: reply }).waitFor();
    await screenshot(customer.page, 'chat-customer-desktop');
    await screenshot(consultant.page, 'chat-consultant-desktop');

    // Receipts while the consultant is away: "sent" (stored, nobody online to receive it), then "read".
    await consultant.page.getByRole('navigation').getByRole('link', { name: '个人中心' }).click();
    await consultant.page.getByRole('heading', { name: '个人中心' }).waitFor();
    await customer.page.reload();
    await openConversation(customer.page, FACIAL);
    await customer.page
      .locator('[data-testid="conversation-item"]', { hasText: FACIAL })
      .locator('.presence.offline')
      .waitFor();
    const away = `您在吗？${Date.now()}`;
    await sendText(customer.page, away);
    await customer.page.locator('[data-testid="message"][data-status="sent"]', { hasText: away }).waitFor();
    await consultant.page.getByRole('navigation').getByRole('link', { name: '咨询', exact: true }).click();
    await openConversation(consultant.page, FACIAL);
    await messageWithText(consultant.page, away).waitFor();
    await customer.page.locator('[data-testid="message"][data-status="read"]', { hasText: away }).waitFor();

    // Unread count: a message in the consultant's other conversation (sent by 李先生 over HTTP).
    const token = await apiLogin('customer_789');
    const list = (await (
      await fetch(`${api.url}/api/v1/conversations`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { conversations: { id: string; title: string }[] };
    const followUp = list.conversations.find((c) => c.title === FOLLOW_UP)!;
    for (const content of ['复诊时间可以改吗？', '下周二方便吗？']) {
      await fetch(`${api.url}/api/v1/chat/${followUp.id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content }),
      });
    }
    const badge = consultant.page
      .locator('[data-testid="conversation-item"]', { hasText: FOLLOW_UP })
      .getByTestId('unread-badge');
    await badge.filter({ hasText: /^2$/ }).waitFor();
    await openConversation(consultant.page, FOLLOW_UP);
    await badge.waitFor({ state: 'detached' });
  });

  it('image and document uploads (with progress and clear errors) and a voice note arrive on the other side and play/download', async () => {
    const { customer, consultant } = await customerAndConsultantIn(FACIAL);

    // Watch for the progress bar (it may only live for a moment on a fast local upload).
    await customer.page.evaluate(() => {
      const w = window as unknown as { sawProgress: boolean };
      w.sawProgress = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="upload-progress"] progress')) w.sawProgress = true;
      }).observe(document.body, { subtree: true, childList: true });
    });

    // Image.
    await customer.page
      .getByTestId('file-input')
      .setInputFiles({ name: 'skin.png', mimeType: 'image/png', buffer: PNG });
    await consultant.page.locator('[data-testid="message"][data-type="image"] img').last().waitFor();
    await consultant.page.waitForFunction(() => {
      const img = [...document.querySelectorAll<HTMLImageElement>('[data-type="image"] img')].at(-1);
      return img?.complete === true && img.naturalWidth === 1;
    });
    expect(await customer.page.evaluate(() => (window as unknown as { sawProgress: boolean }).sawProgress)).toBe(true);

    // Document: arrives as a download link; downloading it gives the same bytes.
    const pdf = Buffer.from('%PDF-1.4\n% test document\n%%EOF\n');
    await customer.page
      .getByTestId('file-input')
      .setInputFiles({ name: '术前须知.pdf', mimeType: 'application/pdf', buffer: pdf });
    const link = consultant.page.getByTestId('file-link').filter({ hasText: '术前须知.pdf' });
    await link.waitFor();
    const [download] = await Promise.all([consultant.page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('术前须知.pdf');
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path).equals(pdf)).toBe(true);

    // Clear errors for a wrong type and a file over the limit (checked before uploading).
    await customer.page
      .getByTestId('file-input')
      .setInputFiles({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') });
    await customer.page.getByTestId('composer-error').filter({ hasText: '不支持的文件类型' }).waitFor();
    await customer.page
      .getByTestId('file-input')
      .setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.alloc(11 * 1024 * 1024, 1) });
    await customer.page.getByTestId('composer-error').filter({ hasText: '文件太大' }).waitFor();
    await screenshot(customer.page, 'chat-upload-error-desktop');

    // Voice note: record ~1 s from the fake microphone, upload, play on the other side.
    const voiceButton = customer.page.getByTestId('voice-button');
    await voiceButton.click();
    await voiceButton.filter({ hasText: '0:01' }).waitFor();
    await voiceButton.click();
    const voice = consultant.page.locator('[data-testid="message"][data-type="voice"]').last();
    await voice.waitFor();
    await consultant.page.evaluate(async () => {
      const audio = [...document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-player"]')].at(-1)!;
      await audio.play();
    });
    await consultant.page.waitForFunction(() => {
      const audio = [...document.querySelectorAll<HTMLAudioElement>('[data-testid="voice-player"]')].at(-1);
      return audio !== undefined && audio.currentTime > 0;
    });
    await customer.page.locator('[data-testid="message"][data-type="voice"]').last().waitFor();
    await screenshot(consultant.page, 'chat-media-desktop');
  });

  it('counts WebSockets over a scripted tour (login → chat → profile → admin → chat)', async () => {
    const tours: Record<string, { pageLoads: number; sockets: number }> = {};
    for (const username of ['customer_456', 'admin']) {
      const visitor = await openPage(browser, web.url);
      open.push(visitor);
      const { page, sockets } = visitor;
      let pageLoads = 1;
      await signIn(visitor, username); // /login, then the landing page
      pageLoads++;
      const step = async (link: string, heading: string | RegExp) => {
        await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
        await page.getByRole('heading', { name: heading }).first().waitFor();
        pageLoads++;
      };
      if (username === 'admin') {
        await waitForStatus(page, 'open'); // the admin socket of the landing page /admin
        await step('咨询', '我的咨询');
      }
      await waitForStatus(page, 'open');
      await step('个人中心', '个人中心');
      if (username === 'admin') {
        await step('管理后台', /管理后台/);
        await waitForStatus(page, 'open');
      } else {
        await page.goto('/admin'); // not linked for customers: no access, and no socket
        await page.getByText('仅管理员可访问此页面').waitFor();
        pageLoads++;
      }
      await page.getByRole('navigation').getByRole('link', { name: '咨询', exact: true }).click();
      await page.getByRole('heading', { name: '我的咨询' }).waitFor();
      pageLoads++;
      await waitForStatus(page, 'open');
      await quietPeriod();
      tours[username] = { pageLoads, sockets: sockets.length };
    }
    const summary = Object.entries(tours).map(
      ([who, t]) =>
        `${who}: ${t.sockets} sockets for ${t.pageLoads} page views (one per page load: ${t.pageLoads}; −${Math.round(
          (1 - t.sockets / t.pageLoads) * 100,
        )}%)`,
    );
    console.log(`[socket tour] ${summary.join(' | ')}`);
    expect(tours.customer_456!.sockets).toBe(2);
    expect(tours.admin!.sockets).toBe(4);
  });

  it('admin sees a customer come online and go offline, the message rate move, and a notification reach chat pages', async () => {
    const admin = await user('admin');
    await admin.page.getByRole('heading', { name: /管理后台/ }).waitFor();
    await waitForStatus(admin.page, 'open');
    const row = (online: boolean) =>
      admin.page.locator(`[data-testid="user-row"][data-username="customer_789"][data-online="${online}"]`);
    await row(false).waitFor();
    await admin.page
      .getByTestId('stat-message-rate')
      .filter({ hasText: /^0\.00$/ })
      .waitFor();
    await screenshot(admin.page, 'admin-desktop');

    const customer = await signedInPage(browser, web.url, 'customer_789');
    const consultant = await user('consultant_001');
    await openConversation(customer.page, FOLLOW_UP);
    await waitForStatus(customer.page, 'open');
    await row(true).waitFor();
    await row(true).locator('.device').first().waitFor();

    for (let i = 1; i <= 3; i++) await sendText(customer.page, `第 ${i} 条消息`);
    await messageWithText(customer.page, '第 3 条消息').locator('[data-testid="receipt"]').waitFor();
    expect(await customer.page.getByTestId('unread-badge').count()).toBe(0); // the open conversation is read
    await admin.page
      .getByTestId('stat-message-rate')
      .filter({ hasText: /^(?!0\.00$)\d+\.\d\d$/ })
      .waitFor();

    const notice = `今晚 23:00 系统维护 ${Date.now()}`;
    await admin.page.locator('textarea[name="message"]').fill(notice);
    await admin.page.getByRole('button', { name: '发送通知' }).click();
    await admin.page.getByText('已发送给所有在线用户').waitFor();
    await customer.page.getByTestId('notice').filter({ hasText: notice }).waitFor();
    await consultant.page.getByTestId('notice').filter({ hasText: notice }).waitFor();
    await screenshot(customer.page, 'chat-notice-desktop');
    await screenshot(admin.page, 'admin-live-desktop');

    await customer.close();
    await row(false).waitFor();

    // A consultant's reply to the customer, now offline, is pushed (logging: once per user) and
    // counted in the push card's 日志 row.
    const loggingSent = admin.page
      .getByTestId('push-provider')
      .filter({ hasText: '日志' })
      .getByTestId('push-provider-sent');
    const before = (await loggingSent.count()) === 0 ? 0 : Number(await loggingSent.textContent());
    await openConversation(consultant.page, FOLLOW_UP);
    await sendText(consultant.page, `李先生，请记得明天复诊 ${Date.now()}`);
    await admin.page.waitForFunction((min) => {
      const row = [...document.querySelectorAll('[data-testid="push-provider"]')].find(
        (r) => r.querySelector('th')?.textContent === '日志',
      );
      return Number(row?.querySelector('[data-testid="push-provider-sent"]')?.textContent) >= min;
    }, before + 1);
    await screenshot(admin.page, 'admin-push-desktop');
    // Leave no extra consultant socket behind for the tests that follow (they count on one each).
    await consultant.close();
  });

  it('/test-websocket connects only on demand and shows raw frames, state and RTT', async () => {
    const tester = await user('customer_456');
    await tester.page.goto('/test-websocket');
    // Counted once the landing page is gone: its socket may open after sign-in resolves.
    const before = tester.sockets.length;
    await tester.page
      .getByTestId('ws-state')
      .filter({ hasText: /idle|closed/ })
      .waitFor();
    await quietPeriod();
    expect(tester.sockets.length).toBe(before);
    await tester.page.getByTestId('ws-connect').click();
    await tester.page.getByTestId('ws-state').filter({ hasText: 'open' }).waitFor();
    await tester.page.locator('[data-direction="in"]', { hasText: '"action":"connected"' }).waitFor();
    await tester.page.getByTestId('frame-send').click(); // the default draft is a ping
    await tester.page.locator('[data-direction="out"]', { hasText: /"action":\s*"ping"/ }).waitFor();
    await tester.page.locator('[data-direction="in"]', { hasText: '"action":"pong"' }).waitFor();
    await tester.page.getByRole('button', { name: /Ping/ }).click(); // client.ping(): its pong gives the RTT
    await tester.page
      .getByTestId('ws-rtt')
      .filter({ hasText: /\d+ ms/ })
      .waitFor();
    await screenshot(tester.page, 'test-websocket-desktop');
    await tester.page.getByTestId('ws-disconnect').click();
    await tester.page.getByTestId('ws-state').filter({ hasText: 'closed' }).waitFor();
  });

  it('killing and restarting the API shows reconnecting then connected, and sending continues', async () => {
    const { customer, consultant } = await customerAndConsultantIn(FACIAL);

    await api.kill();
    await waitForStatus(customer.page, 'reconnecting');
    await screenshot(customer.page, 'chat-reconnecting-desktop');
    const during = `断线期间发送的消息 ${Date.now()}`;
    await sendText(customer.page, during);
    await customer.page.locator('[data-testid="message"][data-status="sending"]', { hasText: during }).waitFor();

    await api.restart();
    await waitForStatus(customer.page, 'open', 45_000);
    await waitForStatus(consultant.page, 'open', 45_000);
    // First the sender's side (the queued message was written and acked), then the receiver's:
    // a failure then says which half of the path lost it.
    await customer.page
      .locator('[data-testid="message"]:not([data-status="sending"])', { hasText: during })
      .waitFor({ timeout: 20_000 });
    await messageWithText(consultant.page, during).waitFor({ timeout: 20_000 });
    const after = `恢复后的消息 ${Date.now()}`;
    await sendText(consultant.page, after);
    await messageWithText(customer.page, after).waitFor();
  }, 90_000); // the retry after the restart may fall up to 16 s out (full-jitter backoff)

  it('history loads in pages ("load earlier")', async () => {
    const token = await apiLogin('customer_789');
    const list = (await (
      await fetch(`${api.url}/api/v1/conversations`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { conversations: { id: string; title: string; last_seq: number }[] };
    const followUp = list.conversations.find((c) => c.title === FOLLOW_UP)!;
    for (let i = 1; i <= 35; i++) {
      await fetch(`${api.url}/api/v1/chat/${followUp.id}/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: `历史消息 ${i}` }),
      });
    }
    const consultant = await user('consultant_001');
    await openConversation(consultant.page, FOLLOW_UP);
    await messageWithText(consultant.page, '历史消息 35').waitFor();
    const messages = consultant.page.locator('[data-testid="message"]');
    expect(await messages.count()).toBe(30);
    await consultant.page.getByRole('button', { name: '加载更早的消息' }).click();
    await consultant.page.locator('[data-testid="message"][data-seq="1"]').waitFor();
    expect(await messages.count()).toBe(followUp.last_seq + 35);
    await consultant.page.getByRole('button', { name: '加载更早的消息' }).waitFor({ state: 'detached' });
  });

  it('every page at mobile width (screenshots)', async () => {
    const pages: [string, string, string | RegExp][] = [
      ['customer_456', '/customer/chat', '我的咨询'],
      ['customer_456', '/profile', '个人中心'],
      ['customer_456', '/help', '帮助'],
      ['admin', '/admin', /管理后台/],
      ['customer_456', '/test-websocket', 'WebSocket 连接测试'],
    ];
    const login = await openPage(browser, web.url, MOBILE);
    open.push(login);
    await login.page.goto('/login');
    await login.page.locator('button[data-username="admin"]').waitFor();
    await screenshot(login.page, 'login-mobile');
    const customer = await user('customer_456', MOBILE);
    const admin = await user('admin', MOBILE);
    for (const [who, path, heading] of pages) {
      const { page } = who === 'admin' ? admin : customer;
      await page.goto(path);
      await page.getByRole('heading', { name: heading }).first().waitFor();
      if (path === '/customer/chat') {
        await page.getByTestId('conversation-item').first().waitFor();
        await waitForStatus(page, 'open');
      }
      if (path === '/test-websocket')
        await page
          .getByTestId('ws-state')
          .filter({ hasText: /idle|closed/ })
          .waitFor();
      if (path === '/admin') {
        await page.getByTestId('user-row').first().waitFor();
        await page.getByTestId('stat-online-users').filter({ hasText: /\d/ }).waitFor();
      }
      await screenshot(page, `${path.slice(1).replaceAll('/', '-')}-mobile`);
    }
    await customer.page.goto('/customer/chat');
    await openConversation(customer.page, FACIAL);
    await customer.page.locator('[data-testid="message"]').first().waitFor();
    await screenshot(customer.page, 'chat-thread-mobile');
  });
});
