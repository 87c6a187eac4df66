// Selective import through the browser: the action, the selection page, the dependency rule,
// a successful run with live progress, a failing catalog, the lock, «Отмена» and cancelling.
// One server and one database serve the whole file, so the steps run in order.
import { test, expect } from '@playwright/test';
import { ImportPage, SessionsPage, docShot, logInAsAdmin } from './support/pages.js';
import { breakGoods, generateExport, ru } from './support/data.js';

test.describe.configure({ mode: 'serial' });

test('the monitor offers «🚀 Запустить импорт из 1С» and the page shows four kinds', async ({ page }) => {
  const sessions = await logInAsAdmin(page);
  await expect(page.getByRole('link', { name: '🚀 Запустить импорт из 1С' })).toHaveAttribute('data-action', 'trigger_selective_import');
  await expect(page.getByRole('option', { name: '🚀 Запустить импорт из 1С' })).toHaveAttribute('value', 'trigger_selective_import');
  await expect(page.getByText('🚀 Запустить импорт каталога из 1С')).toHaveCount(0);

  // The Django-style action: choose it and press «Выполнить».
  await page.getByLabel('Действие').selectOption('trigger_selective_import');
  await page.getByRole('button', { name: 'Выполнить' }).click();
  const imp = new ImportPage(page);
  await expect(imp.heading).toBeVisible();
  await expect(page).toHaveTitle('Выбор типов данных для импорта | Импорт из 1С');

  const boxes = page.getByRole('checkbox');
  await expect(boxes).toHaveCount(4);
  const names = await boxes.evaluateAll((els) => els.map((e) => e.labels[0].textContent));
  expect(names).toEqual(['Каталог товаров', 'Остатки товаров', 'Цены товаров', 'Клиенты']);
  await expect(imp.catalog).toBeChecked();
  await expect(imp.stocks).not.toBeChecked();
  await expect(imp.prices).not.toBeChecked();
  await expect(imp.customers).not.toBeChecked();
  await expect(imp.stocks).toHaveAccessibleDescription('(требует наличия каталога)');
  await expect(imp.prices).toHaveAccessibleDescription('(требует наличия каталога)');
  await expect(imp.start).toBeVisible();
  await expect(imp.cancelPage).toBeVisible();
  await docShot(page, 'import-selection');

  // Keyboard: Space ticks the focused checkbox.
  await imp.customers.focus();
  await page.keyboard.press('Space');
  await expect(imp.customers).toBeChecked();
  await expect(sessions.heading).toHaveCount(0);
});

test('«Отмена» goes back to the monitor and starts nothing', async ({ page }) => {
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.cancelPage.click();
  const sessions = new SessionsPage(page);
  await expect(sessions.heading).toBeVisible();
  await expect(sessions.emptyState).toBeVisible();
});

test('stocks only on an empty catalog: the warning, and no session', async ({ page }) => {
  generateExport({ products: 50, customers: 5 });
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['stocks']);
  const warning = "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта.";
  // Visible before submitting …
  await expect(page.getByRole('alert')).toHaveText(warning);
  await docShot(page, 'import-dependency-warning');
  // … and the server says the same.
  await imp.start.click();
  await expect(imp.messages).toHaveText(warning);
  await expect(imp.panel).toHaveCount(0);
  const sessions = new SessionsPage(page);
  await sessions.goto();
  await expect(sessions.emptyState).toBeVisible();
});

test('a broken goods file: catalog fails, stocks do not run, one failed session', async ({ page }) => {
  generateExport({ products: 300, customers: 10 });
  const broken = breakGoods();
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['catalog', 'stocks']);
  expect(await imp.startRun()).not.toBeNull();
  const message = await imp.finalMessage();
  expect(message).toMatch(/^❌ Ошибка импорта каталога: /);
  expect(message).toContain(broken);
  expect(message).toMatch(/Остатки не импортированы\.$/);
  await expect(imp.messages).toContainText('❌ Ошибка импорта каталога');
  await expect(imp.kindLine('catalog')).toContainText('❌ Ошибка');
  await expect(imp.kindLine('stocks')).toContainText('Не запускался');

  const sessions = new SessionsPage(page);
  await sessions.goto();
  await expect(sessions.rows()).toHaveCount(1);
  await expect(sessions.rows().first()).toContainText('Каталог');
  await expect(sessions.rows().first()).toContainText('❌ Ошибка');
});

test('catalog + stocks: two sessions, live progress, the summary with counts', async ({ page }) => {
  const summary = generateExport({ products: 3000, customers: 10 });
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['stocks', 'catalog']);
  expect(await imp.startRun()).not.toBeNull();
  // Live: the panel lists both kinds in run order while the catalog works.
  await expect(imp.panel).toBeVisible();
  await expect(imp.panel.locator('li .kind-name')).toHaveText(['Каталог', 'Остатки']);
  await expect(imp.kindLine('catalog').getByRole('progressbar')).toBeVisible();
  await expect(imp.cancelRun).toBeVisible();
  await docShot(page, 'import-running');

  const message = await imp.finalMessage();
  expect(message).toMatch(new RegExp(`^✅ Импорт завершен: Каталог \\(${ru(summary.products).replace(/\u00a0/g, ' ')} товаров`));
  expect(message).toContain('Остатки (');
  await expect(imp.messages).toContainText('✅ Импорт завершен');
  await expect(imp.kindLine('catalog')).toContainText('✅ Готово');
  await expect(imp.kindLine('stocks')).toContainText('✅ Готово');
  await expect(imp.cancelRun).toHaveCount(0);
  await docShot(page, 'import-summary');

  // A reload shows the same (finished) run.
  await page.reload();
  await expect(imp.runMessage).toHaveText(/^✅ Импорт завершен/);

  const sessions = new SessionsPage(page);
  await sessions.goto();
  await expect(sessions.rows()).toHaveCount(3);
  await expect(sessions.rows().nth(0)).toContainText('Остатки');
  await expect(sessions.rows().nth(0)).toContainText('✅ Завершен');
  await expect(sessions.rows().nth(1)).toContainText('Каталог');
  await expect(sessions.rows().nth(1)).toContainText('✅ Завершен');
  await docShot(page, 'monitor');
  // The session page shows its counters.
  await sessions.rows().nth(1).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(/Сессия импорта №\d+/);
  await expect(page.getByRole('row', { name: /Товары/ })).toContainText(ru(summary.products));
  await docShot(page, 'session-detail');
});

test('two browsers start at once: one runs, the other is told an import is running', async ({ browser }) => {
  generateExport({ products: 8000, customers: 10, seed: 11 });
  const pages = [];
  for (let i = 0; i < 2; i += 1) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await logInAsAdmin(page);
    const imp = new ImportPage(page);
    await imp.goto();
    pages.push(imp);
  }
  const started = await Promise.all(pages.map((imp) => imp.startRun()));
  expect(started.filter((id) => id !== null)).toHaveLength(1);
  const busy = '⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.';
  await expect.poll(async () => {
    const texts = await Promise.all(pages.map((imp) => imp.messages.textContent()));
    return texts.filter((t) => t.includes(busy)).length;
  }).toBe(1);
  // The other one runs; let it finish so the next test starts clean.
  const runner = started[0] !== null ? pages[0] : pages[1];
  await expect(runner.panel).toBeVisible();
  expect(await runner.finalMessage()).toMatch(/^✅ Импорт завершен: Каталог/);
});

test('cancelling a running import rolls the kind back and stops the chain', async ({ page }) => {
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['catalog', 'prices']);
  expect(await imp.startRun()).not.toBeNull();
  await expect(imp.kindLine('catalog').getByRole('progressbar')).toBeVisible();
  await imp.cancelRun.click();
  const message = await imp.finalMessage();
  expect(message).toBe('❌ Ошибка импорта каталога: Отменено администратором. Цены не импортированы.');
  await expect(imp.kindLine('catalog')).toContainText('Отменено администратором');
  await expect(imp.kindLine('prices')).toContainText('Не запускался');
  const sessions = new SessionsPage(page);
  await sessions.goto();
  await expect(sessions.rows().first()).toContainText('❌ Ошибка');
  await expect(sessions.rows().first()).toContainText('Каталог');
  // The session page records who cancelled.
  await sessions.rows().first().getByRole('link').click();
  await expect(page.locator('dl.detail')).toContainText('Отменилqa-admin');
  await expect(page.locator('dl.detail')).toContainText('Запустилqa-admin');
});

test('the monitor follows a run live, without reloading', async ({ context }) => {
  const monitor = await context.newPage();
  const sessions = await logInAsAdmin(monitor);
  const before = await sessions.rows().count();
  const starter = await context.newPage();
  const imp = new ImportPage(starter);
  await imp.goto();
  await imp.choose(['catalog']);
  expect(await imp.startRun()).not.toBeNull();
  // The new session appears on the monitor while it runs, then turns completed.
  await expect(sessions.rows()).toHaveCount(before + 1);
  await expect(sessions.rows().first()).toContainText('Каталог');
  await expect(sessions.rows().first()).toContainText('✅ Завершен', { timeout: 120_000 });
  expect(await imp.finalMessage()).toMatch(/^✅ Импорт завершен/);
});

test('the monitor filters by status, type and date', async ({ page }) => {
  const sessions = await logInAsAdmin(page);
  const all = await sessions.rows().count();
  expect(all).toBeGreaterThanOrEqual(5);
  await page.getByLabel('Статус').selectOption('failed');
  await expect(page).toHaveURL(/\?status=failed$/);
  await expect(sessions.rows()).toHaveCount(2);
  for (const row of await sessions.rows().all()) await expect(row).toContainText('❌ Ошибка');
  await page.getByLabel('Статус').selectOption('');
  await page.getByLabel('Тип импорта').selectOption('stocks');
  await expect(sessions.rows()).toHaveCount(1);
  await expect(sessions.rows().first()).toContainText('Остатки');
  await page.getByLabel('Тип импорта').selectOption('');
  await page.getByLabel('Дата').fill('2001-01-01');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel('Дата').fill(today);
  await expect(sessions.rows()).toHaveCount(all);
});

test('an anonymous visitor never sees the import pages or streams', async ({ page, request }) => {
  await page.goto('/import');
  await expect(page).toHaveURL(/\/login\?next=\/import$/);
  for (const url of ['/events', '/events/runs/x']) {
    const res = await request.get(url, { headers: { accept: 'text/event-stream' } });
    expect(res.status(), url).toBe(401);
  }
  for (const fn of ['start_import', 'cancel_import', 'latest_run', 'catalog_status']) {
    const res = await request.post(`/api/${fn}`, { form: { 'kinds[0]': 'catalog', run_id: 'x' } });
    expect(res.status(), fn).toBe(401);
  }
});
