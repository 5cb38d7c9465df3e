/**
 * Issue #17, item 2: a new customer signs up on a phone, lands on the chat page signed in, starts a
 * consultation with a topic and sees it in her list; unknown paths get a Chinese 404; errors of
 * sign-up and sign-in (taken username, too many attempts) are said in Chinese.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useStack } from './support/lifecycle.ts';
import { MOBILE, openPage, screenshot, type UserPage } from './support/pages.ts';

// The e2e stack raises the per-username login limit for demo accounts; this file needs a refusal.
const LOGIN_LIMIT = 3;
const files = useStack({ RATE_LIMIT_LOGIN_PER_USERNAME: String(LOGIN_LIMIT) });

async function phone(): Promise<UserPage> {
  const user = await openPage(files.stack.browser, files.stack.web.url, MOBILE);
  files.open.push(user);
  return user;
}

/** The form's error (Next adds a second, empty role="alert": its route announcer). */
const formError = (page: Page) => page.locator('.error[role="alert"]');
/** A word of Latin letters: a raw English API text leaking into the UI. */
const ENGLISH = /[A-Za-z]{3,}/;

describe('sign-up (phone, 390×844)', () => {
  it('signs up a new customer, who lands on the chat page and starts a consultation with a topic', async () => {
    const { page } = await phone();
    await page.goto('/login');
    await page.getByRole('link', { name: '注册' }).click();
    await page.waitForURL((url) => url.pathname === '/register');
    await page.getByRole('heading', { name: '注册安美智享' }).waitFor();
    // The API's rules are shown before anything is typed.
    expect(await page.getByTestId('username-hint').textContent()).toBe('3–32 位小写字母、数字或下划线');
    expect(await page.getByTestId('password-hint').textContent()).toBe('8–128 个字符');

    // A taken username: the API's 409 USERNAME_TAKEN, said in Chinese at the field.
    await page.locator('input[name="username"]').fill('customer_456');
    await page.locator('input[name="display_name"]').fill('新客户');
    await page.locator('input[name="password"]').fill('secret-pass-1');
    await page.getByRole('button', { name: '注册并登录' }).click();
    await page.getByTestId('username-hint').filter({ hasText: '用户名已被使用' }).waitFor();

    // A username breaking the rules is refused before any request, naming the field.
    await page.locator('input[name="username"]').fill('No');
    await page.getByRole('button', { name: '注册并登录' }).click();
    expect(await page.getByTestId('username-hint').textContent()).toBe('用户名需为3–32 位小写字母、数字或下划线');

    const username = `new_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e4)}`;
    await page.locator('input[name="username"]').fill(username);
    await page.locator('input[name="display_name"]').fill('陈女士');
    expect(await page.getByTestId('username-hint').textContent()).toBe('3–32 位小写字母、数字或下划线');
    await screenshot(page, 'register-phone-signup');
    await page.getByRole('button', { name: '注册并登录' }).click();

    // Signed in (the header shows her name) on the customer chat page, the start form open.
    await page.waitForURL((url) => url.pathname === '/customer/chat');
    await page.locator('.app-user .user-name', { hasText: '陈女士' }).waitFor();
    const dialog = page.getByRole('dialog', { name: '发起咨询' });
    await dialog.waitFor();
    // "Any consultant", then the directory's consultants (the demo has one).
    await dialog.locator('.pick-option', { hasText: '张顾问' }).waitFor();
    expect(await dialog.locator('.pick-option .pick-name').allTextContents()).toEqual(['任意顾问', '张顾问']);
    const topic = `玻尿酸填充咨询 ${username}`;
    await dialog.locator('input[name="title"]').fill(topic);
    await screenshot(page, 'register-phone-start-form');
    await dialog.getByRole('button', { name: '开始咨询' }).click();

    // The new consultation opens, with the consultant the platform assigned (the demo's 张顾问).
    await page.locator('.thread-head h2', { hasText: topic }).waitFor();
    await page.locator('.thread-people', { hasText: '张顾问' }).waitFor();
    await screenshot(page, 'register-phone-new-consultation');
    // …and is in her list (on a phone the list is behind "返回").
    await page.locator('.thread-head .back').click();
    await page.locator('[data-testid="conversation-item"]', { hasText: topic }).waitFor();
    await screenshot(page, 'register-phone-list');
  });

  it('says "尝试次数过多，请稍后再试" when the API answers 429 to sign-in attempts', async () => {
    const { page } = await phone();
    await page.goto('/login');
    await page.locator('input[name="username"]').fill(`nobody_${Date.now().toString(36)}`);
    await page.locator('input[name="password"]').fill('wrong-password');
    const submit = page.getByRole('button', { name: '登录', exact: true });
    // LOGIN_LIMIT attempts per username per minute: the next one is 429 RATE_LIMITED.
    const seen: string[] = [];
    for (let attempt = 0; attempt <= LOGIN_LIMIT; attempt++) {
      await submit.click();
      await submit.waitFor({ state: 'visible' });
      await page.waitForFunction(() => !document.querySelector('button[type="submit"]')?.hasAttribute('disabled'));
      await formError(page).waitFor();
      seen.push((await formError(page).textContent())?.trim() ?? '');
    }
    expect(seen).toEqual([...Array(LOGIN_LIMIT).fill('用户名或密码错误'), '尝试次数过多，请稍后再试']);
    expect(seen.filter((text) => ENGLISH.test(text))).toEqual([]);
    await screenshot(page, 'register-phone-login-429');
  });
});

describe('password (phone, 390×844)', () => {
  it('a new customer changes her password on 个人中心 and signs in with the new one; a wrong current one is said in Chinese', async () => {
    const { page } = await phone();
    const username = `pw_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e4)}`;
    await page.goto('/register');
    await page.locator('input[name="username"]').fill(username);
    await page.locator('input[name="display_name"]').fill('周女士');
    await page.locator('input[name="password"]').fill('first-pass-1');
    await page.getByRole('button', { name: '注册并登录' }).click();
    await page.waitForURL((url) => url.pathname === '/customer/chat');
    // A new customer's chat page opens the 发起咨询 dialog; 个人中心 is reached by its address here.
    await page.goto('/profile');
    const form = page.locator('form', { has: page.getByRole('heading', { name: '修改密码' }) });
    const fill = async (current: string, next: string, again: string) => {
      await form.locator('input[name="current_password"]').fill(current);
      await form.locator('input[name="new_password"]').fill(next);
      await form.locator('input[name="new_password_again"]').fill(again);
      await form.getByRole('button', { name: '修改密码' }).click();
    };
    // Checked on the page first, then by the API (403 CURRENT_PASSWORD_WRONG), each said in Chinese.
    await fill('first-pass-1', 'second-pass-2', 'second-pass-3');
    await form.locator('.error', { hasText: '两次输入的新密码不一致' }).waitFor();
    await fill('not-my-password', 'second-pass-2', 'second-pass-2');
    await form.locator('.error', { hasText: '当前密码不正确，请重新输入' }).waitFor();
    expect(await form.locator('.error').textContent()).not.toMatch(ENGLISH);
    await fill('first-pass-1', 'second-pass-2', 'second-pass-2');
    await form.getByRole('status').filter({ hasText: '密码已修改' }).waitFor();
    await screenshot(page, 'profile-phone-password-changed');

    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    const signIn = async (password: string) => {
      await page.locator('input[name="username"]').fill(username);
      await page.locator('input[name="password"]').fill(password);
      await page.locator('form button[type="submit"]').click();
    };
    await signIn('first-pass-1');
    await formError(page).filter({ hasText: '用户名或密码错误' }).waitFor();
    await signIn('second-pass-2');
    await page.waitForURL((url) => url.pathname === '/customer/chat');
  });
});

describe('unknown pages', () => {
  it('answers /no-such-page with a Chinese 404 and a link home', async () => {
    const { page } = await phone();
    const response = await page.goto('/no-such-page');
    expect(response?.status()).toBe(404);
    await page.getByRole('heading', { name: '页面不存在' }).waitFor();
    const home = page.getByRole('link', { name: '返回首页' });
    expect(await home.getAttribute('href')).toBe('/');
    await screenshot(page, 'register-phone-404');
    await home.click();
    // Signed out, home sends her to sign-in.
    await page.waitForURL((url) => url.pathname === '/login');
  });
});
