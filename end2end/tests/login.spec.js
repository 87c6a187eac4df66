import { test, expect } from '@playwright/test';
import { LoginPage, SessionsPage, logInAsAdmin } from './support/pages.js';

test('an anonymous visit lands on the login page', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page).toHaveTitle('Вход | Импорт из 1С');
  await expect(page.getByLabel('Логин')).toBeVisible();
  await expect(page.getByLabel('Пароль')).toBeVisible();
});

test('a deep link survives the login', async ({ page }) => {
  await page.goto('/sessions/1');
  await expect(page).toHaveURL(/\/login\?next=\/sessions\/1$/);
});

test('a wrong password shows an error and no session', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.logIn('qa-admin', 'not-the-password');
  await expect(login.error).toHaveText('❌ Неверный логин или пароль.');
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
});

test('the right password shows the sessions page with its empty state, and logout closes it', async ({ page }) => {
  const sessions = await logInAsAdmin(page);
  await expect(page).toHaveTitle('Сессии импорта | Импорт из 1С');
  await expect(sessions.currentUser).toHaveText('qa-admin');
  await expect(sessions.emptyState).toHaveText('Сессий импорта пока нет.');
  await expect(page.getByRole('navigation', { name: 'Навигация' })).toContainText('Главная');

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'onec_session');
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe('Strict');

  await sessions.logout.click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  // The old cookie value no longer opens anything.
  const api = await page.request.post('/api/whoami', { headers: { cookie: `onec_session=${session.value}` } });
  expect(api.status()).toBe(401);
});

test('server functions refuse an anonymous caller', async ({ request }) => {
  for (const fn of ['whoami', 'list_sessions', 'get_session', 'logout']) {
    const res = await request.post(`/api/${fn}`, { form: { page: '0', id: '1' } });
    expect(res.status(), fn).toBe(401);
  }
  const health = await request.get('/healthz');
  expect(health.status()).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok', database: 'ok', redis: 'ok' });
});

test('it reads well on a narrow window', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  const sessions = await logInAsAdmin(page);
  await expect(sessions.logout).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
