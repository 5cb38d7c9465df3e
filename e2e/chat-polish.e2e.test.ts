/**
 * Issue #17, item 6 — what chat users take for granted, on a 390×844 phone: date separators
 * between the days of a thread (messages really stored days ago: the test moves their created_at
 * back in the Postgres schema the API runs on), the full timestamp on hover, an image viewer that
 * opens from the thumbnail and closes with Esc, the close button or a click outside, avatars with
 * initials in a stable colour per person, search in a consultant's list, voice-note names in the
 * user's local time, page titles and a favicon.
 */
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../apps/api/test/support/postgres-schema.ts';
import { useStack } from './support/lifecycle.ts';
import { MOBILE, messageWithText, screenshot, signIn, type UserPage } from './support/pages.ts';

// The API creates the schema (DATABASE_SCHEMA); dropped after the stack stopped (this hook is
// registered before useStack's, and Vitest runs afterAll hooks in reverse order).
const SCHEMA = `e2e_polish_${randomBytes(5).toString('hex')}`;
afterAll(async () => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});
const files = useStack({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: SCHEMA });

/** The users' clock: fixed, so "yesterday" is the same calendar day for the test and the page. */
const TIME_ZONE = 'Asia/Shanghai';
const FACE = '王小姐的面部护理咨询'; // seeded: 王小姐, 张顾问, 刘医生; two messages
const FOLLOW_UP = '李先生的术后复诊'; // seeded: 李先生, 张顾问

async function phone(username: string): Promise<UserPage> {
  const { browser, web } = files.stack;
  const context = await browser.newContext({
    baseURL: web.url,
    viewport: MOBILE,
    locale: 'zh-CN',
    timezoneId: TIME_ZONE,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const user: UserPage = { context, page, sockets: [], close: () => context.close() };
  files.open.push(user);
  await signIn(user, username);
  return user;
}

/** Moves the seeded messages of `title` back in time, in the database the API reads. */
async function backdate(title: string, daysBySeq: Record<number, number>): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const [seq, days] of Object.entries(daysBySeq)) {
      const { rowCount } = await client.query(
        `UPDATE ${SCHEMA}.messages SET created_at = created_at - make_interval(days => $1)
         WHERE seq = $2 AND conversation_id = (SELECT id FROM ${SCHEMA}.conversations WHERE title = $3)`,
        [days, Number(seq), title],
      );
      expect(rowCount, `message ${seq} of ${title}`).toBe(1);
    }
  } finally {
    await client.end();
  }
}

/** A real PNG, 600×400, a diagonal pink-to-blue gradient: large enough to see the viewer scale it. */
function gradientPng(width = 600, height = 400): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      raw.set([Math.round(217 - 160 * t), Math.round(70 + 60 * t), Math.round(140 + 100 * t)], row + 1 + x * 3);
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    // length, type + data, CRC of type + data
    const out = Buffer.alloc(4 + body.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 4 + body.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function openOnPhone(page: Page, title: string): Promise<void> {
  await page.locator('[data-testid="conversation-item"]', { hasText: title }).click();
  await page.locator('.thread-head h2', { hasText: title }).waitFor();
}

const separators = (page: Page) => page.getByTestId('date-separator');
const viewer = (page: Page) => page.getByTestId('image-viewer');

describe('chat polish (phone, 390×844)', () => {
  it('separates the days of a thread (今天, 昨天, a date) and shows the full time on hover', async () => {
    // The seeded greeting was "written" 9 days ago, the consultant's answer yesterday.
    await backdate(FACE, { 1: 9, 2: 1 });
    const customer = await phone('customer_456');
    const { page } = customer;
    // The list says when the last message was written: the backdated answer, yesterday.
    const item = page.getByTestId('conversation-item').filter({ hasText: FACE });
    expect(await item.getByTestId('conversation-time').textContent()).toBe('昨天');
    await openOnPhone(page, FACE);
    const today = `今天打卡 ${Date.now()}`;
    await page.getByTestId('composer-input').fill(today);
    await page.getByTestId('send-button').click();
    await messageWithText(page, today).locator('[data-testid="receipt"]').filter({ hasNotText: '发送中' }).waitFor();

    await expect.poll(() => separators(page).allTextContents()).toHaveLength(3);
    const labels = await separators(page).allTextContents();
    expect(labels[0]).toMatch(/^\d{1,2}月\d{1,2}日$/); // 9 days ago: the date (a weekday only within the week)
    expect(labels.slice(1)).toEqual(['昨天', '今天']);
    // Each separator comes right before its day's first message, in the thread's order.
    const order = await page
      .getByTestId('messages')
      .locator('[data-testid="date-separator"], [data-testid="message"]')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-testid') + (el.textContent?.slice(0, 8) ?? '')));
    expect(order.map((s) => s.replace(/^message.*/, 'message'))).toEqual([
      `date-separator${labels[0]}`,
      'message',
      'date-separator昨天',
      'message',
      'date-separator今天',
      'message',
    ]);

    // The hover text: full date, weekday and seconds, on the separator's day.
    const greeting = page.getByTestId('message').first();
    const stamp = await greeting.getByTestId('message-time').getAttribute('title');
    expect(stamp).toMatch(/^\d{4}年\d{1,2}月\d{1,2}日 星期[日一二三四五六] \d{2}:\d{2}:\d{2}$/);
    expect(stamp).toContain(`年${labels[0]} `);
    expect(await greeting.locator('.bubble').getAttribute('title')).toBe(stamp);
    expect(await messageWithText(page, today).getByTestId('message-time').textContent()).toMatch(/^\d{2}:\d{2}$/);

    // The consultant's message carries his avatar: his initial on his colour.
    const answer = page.getByTestId('message').nth(1);
    expect(await answer.getByTestId('avatar').textContent()).toBe('张');
    await screenshot(page, 'chat-polish-thread-separators-phone');
  });

  it('opens an image in a viewer that closes with Esc, the close button and a click outside', async () => {
    const customer = await phone('customer_456');
    const { page } = customer;
    await openOnPhone(page, FACE);
    await page
      .getByTestId('file-input')
      .setInputFiles({ name: '术后照片.png', mimeType: 'image/png', buffer: gradientPng() });
    const thumb = page.locator('[data-testid="message"][data-type="image"]').last().getByTestId('image-thumb');
    await thumb.waitFor();
    await page.waitForFunction(() => {
      const img = [...document.querySelectorAll<HTMLImageElement>('[data-testid="image-thumb"] img')].at(-1);
      return img?.complete === true && img.naturalWidth === 600;
    });
    // A button (keyboard reachable) that names the picture, not a link to the raw file.
    expect(await thumb.getAttribute('aria-label')).toBe('查看大图：术后照片.png');
    expect(await page.locator('[data-type="image"] a[target="_blank"]').count()).toBe(0);

    // Open by keyboard: Enter on the focused thumbnail; the close button gets the focus.
    await thumb.focus();
    await page.keyboard.press('Enter');
    await viewer(page).waitFor();
    const img = viewer(page).locator('img');
    await page.waitForFunction(
      () => document.querySelector<HTMLImageElement>('[data-testid="image-viewer"] img')?.complete,
    );
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('image-viewer-close');
    // The image fits the phone's width (600 px wide image, 390 px screen), whole and centred.
    const box = await img.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.width).toBeLessThanOrEqual(MOBILE.width);
    expect(box!.width).toBeGreaterThan(300);
    expect(Math.abs(box!.x + box!.width / 2 - MOBILE.width / 2)).toBeLessThan(2);
    await screenshot(page, 'chat-polish-image-viewer-phone');

    // Esc closes it and gives the focus back to the thumbnail.
    await page.keyboard.press('Escape');
    await viewer(page).waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('image-thumb');

    // The close button.
    await thumb.click();
    await viewer(page).waitFor();
    await page.getByTestId('image-viewer-close').click();
    await viewer(page).waitFor({ state: 'detached' });

    // A tap on the dark area below the image closes it; a tap on the image does not.
    await thumb.click();
    await viewer(page).waitFor();
    await img.click();
    expect(await viewer(page).isVisible()).toBe(true);
    await page.mouse.click(MOBILE.width / 2, MOBILE.height - 20);
    await viewer(page).waitFor({ state: 'detached' });
  });

  it("shows avatars with initials in the consultant's list and filters it by title, name and last message", async () => {
    const consultant = await phone('consultant_001');
    const { page } = consultant;
    const items = page.getByTestId('conversation-item');
    const face = items.filter({ hasText: FACE });
    const followUp = items.filter({ hasText: FOLLOW_UP });
    await face.waitFor();
    await followUp.waitFor();
    // Staff see the customer: 王小姐 → 王, 李先生 → 李, each with the presence dot.
    expect(await face.getByTestId('avatar').textContent()).toBe('王');
    expect(await followUp.getByTestId('avatar').textContent()).toBe('李');
    // Today's last message: its time of day.
    expect(await followUp.getByTestId('conversation-time').textContent()).toMatch(/^\d{2}:\d{2}$/);
    expect(await face.getByTestId('avatar').getByTestId('presence').count()).toBe(1);
    const colour = (locator: ReturnType<Page['locator']>) =>
      locator.evaluate((el) => getComputedStyle(el).backgroundColor);
    const wangInList = await colour(face.getByTestId('avatar'));
    await screenshot(page, 'chat-polish-list-avatars-phone');

    const search = page.getByTestId('conversation-search');
    const titles = () => items.locator('.conv-title').allTextContents();
    await search.fill('复诊'); // a title
    await expect.poll(titles).toEqual([FOLLOW_UP]);
    await search.fill('刘医生'); // a participant
    await expect.poll(titles).toEqual([FACE]);
    await search.fill('请按时来院'); // the last message
    await expect.poll(titles).toEqual([FOLLOW_UP]);
    await search.fill('不存在的会话');
    await page
      .getByTestId('conversation-search-empty')
      .filter({ hasText: '没有找到与“不存在的会话”相关的会话' })
      .waitFor();
    expect(await items.count()).toBe(0);
    await screenshot(page, 'chat-polish-list-search-empty-phone');
    await search.press('Escape'); // clears the box
    await expect.poll(titles).toEqual(expect.arrayContaining([FACE, FOLLOW_UP]));
    expect(await search.inputValue()).toBe('');

    // The same person has the same colour in the thread as in the list.
    await openOnPhone(page, FACE);
    const wangMessage = page.locator('[data-testid="message"].theirs', { hasText: '面部护理' }).first();
    expect(await wangMessage.getByTestId('avatar').textContent()).toBe('王');
    expect(await colour(wangMessage.getByTestId('avatar'))).toBe(wangInList);
  });

  it("names a voice note by the user's local time of recording, not UTC", async () => {
    const customer = await phone('customer_456');
    const { page } = customer;
    await openOnPhone(page, FACE);
    const voiceButton = page.getByTestId('voice-button');
    const startedAfter = Date.now();
    await voiceButton.click();
    await voiceButton.filter({ hasText: '0:01' }).waitFor();
    await voiceButton.click();
    await page
      .locator('[data-testid="message"][data-type="voice"]')
      .last()
      .locator('[data-testid="receipt"]')
      .waitFor();
    const stoppedBefore = Date.now();

    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    const { rows } = await client
      .query<{ name: string }>(
        `SELECT metadata->>'file_name' AS name FROM ${SCHEMA}.messages WHERE message_type = 'voice' ORDER BY created_at DESC LIMIT 1`,
      )
      .finally(() => client.end());
    const match = /^语音-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})\.webm$/.exec(rows[0]?.name ?? '');
    expect(match, rows[0]?.name).not.toBeNull();
    // The name is the wall clock in Shanghai (UTC+8 all year): 8 hours ahead of UTC, to the second.
    const [y, mo, d, h, mi, se] = match!.slice(1).map(Number) as [number, number, number, number, number, number];
    const recordedAt = Date.UTC(y, mo - 1, d, h, mi, se) - 8 * 3_600_000;
    expect(recordedAt).toBeGreaterThanOrEqual(Math.floor(startedAfter / 1000) * 1000);
    expect(recordedAt).toBeLessThanOrEqual(stoppedBefore);
  });

  it('names every page in its title and links the SVG favicon', async () => {
    const customer = await phone('customer_456');
    const { page } = customer;
    // Signing in ends in a client-side navigation: the new title follows with the page's metadata.
    await expect.poll(() => page.title()).toBe('咨询 · 安美智享');
    const icon = page.locator('head link[rel="icon"][type="image/svg+xml"]');
    const href = await icon.getAttribute('href');
    expect(href).toMatch(/^\/icon\.svg/);
    const answer = await page.request.get(href!);
    expect(answer.status()).toBe(200);
    expect(answer.headers()['content-type']).toContain('image/svg+xml');
    expect(await answer.text()).toContain('<svg');

    for (const [path, title] of [
      ['/help', '帮助 · 安美智享'],
      ['/profile', '个人中心 · 安美智享'],
      ['/no-such-page', '页面不存在 · 安美智享'],
    ] as const) {
      await page.goto(path);
      await expect.poll(() => page.title(), { message: path }).toBe(title);
    }
    const visitor = await files.stack.browser.newPage({ baseURL: files.stack.web.url });
    try {
      for (const [path, title] of [
        ['/login', '登录 · 安美智享'],
        ['/register', '注册 · 安美智享'],
      ] as const) {
        await visitor.goto(path);
        await expect.poll(() => visitor.title(), { message: path }).toBe(title);
      }
    } finally {
      await visitor.close();
    }
    const admin = await phone('admin');
    for (const [path, title] of [
      ['/admin', '管理后台 · 安美智享'],
      ['/test-websocket', '连接测试 · 安美智享'],
    ] as const) {
      await admin.page.goto(path);
      await expect.poll(() => admin.page.title(), { message: path }).toBe(title);
    }
  });
});
