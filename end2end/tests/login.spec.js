import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN, SERVER_BIN } from '../playwright.config.js';
import { LoginPage, SessionsPage, logInAsAdmin } from './support/pages.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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

  // The default mode: `__Host-` and Secure, which Chromium keeps on http://127.0.0.1 (loopback
  // counts as a secure context).
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === '__Host-onec_session');
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe('Strict');
  expect(session.secure).toBe(true);
  expect(session.path).toBe('/');

  await sessions.logout.click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  // The old cookie value no longer opens anything.
  const api = await page.request.post('/api/whoami', { headers: { cookie: `__Host-onec_session=${session.value}` } });
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

/** Answers every request to evil.example itself, so a redirect there is seen, never fetched. */
async function trapEvilSite(page) {
  await page.route((url) => url.hostname === 'evil.example',
    (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>evil</h1>' }));
}

for (const [name, link] of [
  ['a backslash', '/login?next=/%5Cevil.example'],
  ['a tab', '/login?next=/%09/evil.example'],
  ['a newline', '/login?next=/%0A/evil.example'],
  ['two slashes', '/login?next=//evil.example'],
]) {
  test(`a crafted next with ${name} keeps the browser on the app after a real login`, async ({ page, baseURL }) => {
    await trapEvilSite(page);
    await page.goto(link);
    const login = new LoginPage(page);
    await expect(login.submit).toBeVisible();
    await login.logIn();
    await expect(new SessionsPage(page).heading).toBeVisible();
    expect(new URL(page.url()).origin).toBe(new URL(baseURL).origin);
    await expect(page).toHaveURL(`${baseURL}/`);
  });
}

test('a crafted path through the login redirect stays a path of the app', async ({ page, baseURL }) => {
  await trapEvilSite(page);
  await page.goto('/%5Cevil.example');
  await expect(page).toHaveURL(/\/login\?next=\/%255Cevil\.example$/);
  await new LoginPage(page).logIn();
  // The router decodes the query value once more (`%255C` → `%5C` → `\`), so the login page
  // sees `/\evil.example`, refuses it and goes home: on this site either way.
  await expect(new SessionsPage(page).heading).toBeVisible();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByText('evil', { exact: true })).toHaveCount(0);
});

/** A port nobody listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

test('with ONEC_SECURE_COOKIES=false (plain HTTP) the login works with a plain cookie', async ({ browser }) => {
  test.setTimeout(90_000);
  const port = await freePort();
  const work = path.join(ROOT, 'target', `e2e-plain-${port}`);
  const server = spawn(SERVER_BIN, ['serve'], {
    cwd: ROOT,
    stdio: 'ignore',
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${work}/plain.db?mode=rwc`,
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      ONEC_BIND: `127.0.0.1:${port}`,
      ONEC_DIST_DIR: 'dist',
      ONEC_DATA_DIR: work,
      ONEC_ADMIN_LOGIN: ADMIN.login,
      ONEC_ADMIN_PASSWORD: ADMIN.password,
      ONEC_REDIS_PREFIX: `onec-e2e-plain-${process.pid}`,
      ONEC_SECURE_COOKIES: 'false',
    },
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await expect.poll(async () => {
      try { return (await fetch(`${base}/healthz`)).status; } catch { return 0; }
    }, { timeout: 60_000 }).toBe(200);
    const context = await browser.newContext({ baseURL: base });
    const page = await context.newPage();
    await logInAsAdmin(page);
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(['onec_session']);
    expect(cookies[0].secure).toBe(false);
    expect(cookies[0].httpOnly).toBe(true);
    await page.reload();
    await expect(new SessionsPage(page).heading).toBeVisible();
    await context.close();
  } finally {
    server.kill('SIGKILL');
    await import('node:fs').then((fs) => fs.rmSync(work, { recursive: true, force: true }));
  }
});
