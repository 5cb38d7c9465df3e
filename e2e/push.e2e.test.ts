/**
 * Web Push in the web app (issue #14): the "消息通知" switch registers this browser with the API,
 * the service worker at /sw.js shows the pushes (delivered through the DevTools protocol, see
 * support/push.ts) one per conversation, and a click opens the conversation.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../apps/api/test/support/free-port.ts';
import { openPage, screenshot, signIn, type UserPage } from './support/pages.ts';
import {
  clickNotification,
  fakePushService,
  pushProbe,
  shownNotifications,
  watchServiceWorkers,
} from './support/push.ts';
import { type ApiServer, type Stack, startApi, startStack, startWeb, type WebServer } from './support/stack.ts';

let api: ApiServer;
let web: WebServer;
let browser: Browser;
const open: UserPage[] = [];

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  ({ api, web, browser } = stack);
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`API log (last lines):\n${api?.logTail()}`));
});

afterAll(async () => {
  await Promise.all(open.map((p) => p.close().catch(() => undefined)));
  await stack?.stop();
});

async function call<T>(token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${api.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

async function apiLogin(username: string): Promise<string> {
  const response = await fetch(`${api.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'demo1234' }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

interface Device {
  id: string;
  platform: string;
  provider: string;
  token_hint: string;
}

const devicesOf = async (token: string) => (await call<{ devices: Device[] }>(token, '/api/v1/devices')).devices;

/**
 * Signs `username` in through the API and deletes every push device the user has, so that a test starts
 * from none whatever an earlier test left (one that failed before turning push off leaves its device).
 */
async function withoutDevices(username: string): Promise<string> {
  const token = await apiLogin(username);
  for (const device of await devicesOf(token)) await call(token, `/api/v1/devices/${device.id}`, { method: 'DELETE' });
  expect(await devicesOf(token)).toEqual([]);
  return token;
}

/** A fresh customer page with notifications allowed for the web app's origin and the fake push service. */
async function customerPage(options: { grant: boolean }) {
  const user = await openPage(browser, web.url);
  open.push(user);
  if (options.grant) await user.context.grantPermissions(['notifications'], { origin: web.url });
  const subscription = await fakePushService(user.context);
  return { user, subscription };
}

function pushSwitch(user: UserPage) {
  return user.page.getByRole('switch', { name: '消息通知' });
}

/** Waits for the switch to settle in `state`; fails with the switch's own error text if it shows one. */
async function switchState(user: UserPage, state: 'on' | 'off') {
  const settled = user.page.locator(`[data-testid="push-toggle"][data-state="${state}"]`);
  const error = user.page.getByTestId('push-error');
  await settled.or(error).first().waitFor();
  if (await error.isVisible()) throw new Error(`"消息通知" shows an error: ${await error.textContent()}`);
  await settled.waitFor();
}

describe('web push', () => {
  it('"消息通知" asks permission only when turned on and registers this browser; pushes show one notification per conversation; a click opens the conversation; off deletes the device', async () => {
    const token = await withoutDevices('customer_456');
    // A second conversation, so the one a click opens is not simply the one shown by default.
    await call(token, '/api/v1/conversations', { body: { title: `推送测试 ${Date.now()}` } });
    const { user, subscription } = await customerPage({ grant: true });
    const { page } = user;
    await signIn(user, 'customer_456');
    await page.locator('.thread-head h2').waitFor();

    // Off by default, and nothing asked for permission on load.
    await switchState(user, 'off');
    expect(await pushSwitch(user).isChecked()).toBe(false);
    expect((await pushProbe(page)).permissionRequests).toBe(0);
    expect(await devicesOf(token)).toEqual([]);

    const workers = await watchServiceWorkers(page);
    await pushSwitch(user).click();
    await switchState(user, 'on');
    const probe = await pushProbe(page);
    expect(probe.permissionRequests).toBe(1);
    const { public_key: serverKey } = await call<{ public_key: string }>(token, '/api/v1/devices/web-push-key');
    expect(probe.subscribeCalls).toEqual([{ userVisibleOnly: true, applicationServerKey: serverKey }]);

    const devices = await devicesOf(token);
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({
      platform: 'web',
      provider: 'webpush',
      token_hint: subscription.endpoint.slice(-6),
    });
    const stored = await page.evaluate(() => localStorage.getItem('anmei.push.device'));
    expect(JSON.parse(stored ?? '{}')).toMatchObject({ id: devices[0]!.id, endpoint: subscription.endpoint });
    await screenshot(page, 'push-on-desktop');

    // Push to the conversation that is not shown.
    const shownTitle = await page.locator('.thread-head h2').textContent();
    const { conversations } = await call<{ conversations: { id: string; title: string }[] }>(
      token,
      '/api/v1/conversations',
    );
    const target = conversations.find((c) => c.title !== shownTitle)!;
    const tag = `conversation:${target.id}`;
    const registrationId = await workers.registrationId();
    const push = (body: string) =>
      JSON.stringify({
        title: '顾问回复',
        body,
        data: { conversation_id: target.id, action: 'open_conversation' },
        tag,
      });
    // deliver() resolves once the worker's push event has finished; only then are the notifications read
    // (reading them while one is being shown can lose it: see shownNotifications).
    await workers.deliver(web.url, registrationId, push('您好，方案已发给您'));
    expect(await shownNotifications(page)).toEqual([
      {
        title: '顾问回复',
        body: '您好，方案已发给您',
        tag,
        data: { conversation_id: target.id, action: 'open_conversation' },
      },
    ]);
    // A second push of the same conversation replaces the first (same tag); a non-JSON one is generic.
    await workers.deliver(web.url, registrationId, push('请查看新的报价'));
    await workers.deliver(web.url, registrationId, 'not json');
    const shown = await shownNotifications(page);
    expect(shown).toHaveLength(2);
    expect(shown.find((n) => n.tag === tag)).toEqual({
      title: '顾问回复',
      body: '请查看新的报价',
      tag,
      data: { conversation_id: target.id, action: 'open_conversation' },
    });
    expect(shown.find((n) => n.tag !== tag)).toMatchObject({ title: '新消息', body: 'not json' });

    // The click, from another page of the app: the window navigates to the conversation.
    await page.getByRole('navigation').getByRole('link', { name: '个人中心' }).click();
    await page.getByRole('heading', { name: '个人中心' }).waitFor();
    await clickNotification(page, tag);
    await page.waitForURL((url) => url.pathname === '/customer/chat' && url.searchParams.get('c') === target.id);
    await page.locator('.thread-head h2', { hasText: target.title }).waitFor();
    expect((await shownNotifications(page)).map((n) => n.title)).toEqual(['新消息']); // the clicked one closed
    await screenshot(page, 'push-opened-desktop');

    // Off: unsubscribed and the device deleted.
    await switchState(user, 'on');
    await pushSwitch(user).click();
    await switchState(user, 'off');
    expect(await devicesOf(token)).toEqual([]);
    expect(await page.evaluate(() => localStorage.getItem('anmei.push.device'))).toBeNull();
    await workers.detach().catch(() => undefined);
  });

  it('signing out deletes the browser’s device before the session goes', async () => {
    const token = await withoutDevices('customer_456');
    const { user } = await customerPage({ grant: true });
    await signIn(user, 'customer_456');
    await pushSwitch(user).click();
    await switchState(user, 'on');
    expect(await devicesOf(token)).toHaveLength(1);
    await user.page.getByRole('button', { name: '退出' }).click();
    await user.page.waitForURL((url) => url.pathname === '/login');
    expect(await devicesOf(token)).toEqual([]);
  });

  it('with notifications blocked, turning it on says how to allow them and registers nothing', async () => {
    const token = await withoutDevices('customer_789');
    const { user } = await customerPage({ grant: false });
    await signIn(user, 'customer_789');
    await pushSwitch(user).click();
    const error = user.page.getByTestId('push-error');
    await error.waitFor();
    expect(await error.textContent()).toBe(
      '通知权限已被拒绝。请点击地址栏左侧的网站信息图标（锁形或“调整”图标）→“网站设置”→“通知”，改为“允许”，刷新页面后再打开此开关。',
    );
    await user.page.locator('[data-testid="push-toggle"][data-state="off"]').waitFor();
    expect(await pushSwitch(user).isChecked()).toBe(false);
    expect(await devicesOf(token)).toEqual([]);
    await screenshot(user.page, 'push-denied-desktop');
  });

  it('on a server without Web Push, turning it on says so and registers nothing', async () => {
    // A second stack whose API has no webpush provider (GET /api/v1/devices/web-push-key → 404).
    const webPort = await freePort();
    const plainApi = await startApi(`http://127.0.0.1:${webPort}`, { NOTIFICATION_PROVIDERS: 'logging' });
    const plainWeb = await startWeb(webPort, plainApi.wsUrl).catch(async (error: unknown) => {
      await plainApi.stop();
      throw error;
    });
    try {
      const user = await openPage(browser, plainWeb.url);
      open.push(user);
      await user.context.grantPermissions(['notifications'], { origin: plainWeb.url });
      await fakePushService(user.context);
      await signIn(user, 'customer_456');
      await pushSwitch(user).click();
      const error = user.page.getByTestId('push-error');
      await error.waitFor();
      expect(await error.textContent()).toBe(
        '服务器未启用网页推送（NOTIFICATION_PROVIDERS 中没有 webpush），请联系管理员开启后再试。',
      );
      await user.page.locator('[data-testid="push-toggle"][data-state="off"]').waitFor();
      expect((await pushProbe(user.page)).subscribeCalls).toEqual([]);
      await screenshot(user.page, 'push-server-disabled-desktop');
      await user.close();
    } finally {
      await plainWeb.stop();
      await plainApi.stop();
    }
    // A whole second stack (API and `next start`) starts inside this test: on a loaded CI machine that alone took 40 s.
  }, 180_000);
});
