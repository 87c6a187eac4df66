// Page objects: one class per page, named after what the administrator sees. New tests should
// reach the app through these so a changed label is fixed in one place.
import { expect } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DOCS_IMG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/img');

/**
 * Saves a screenshot for docs/admin-guide.md when E2E_SCREENSHOTS=1 (the committed PNGs are
 * refreshed this way, never by a plain test run).
 */
export async function docShot(page, name) {
  if (process.env.E2E_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.join(DOCS_IMG, `${name}.png`) });
  }
}
import { ADMIN } from '../../playwright.config.js';

export class LoginPage {
  constructor(page) {
    this.page = page;
    this.login = page.getByLabel('Логин');
    this.password = page.getByLabel('Пароль');
    this.submit = page.getByRole('button', { name: 'Войти' });
    this.error = page.getByRole('alert');
  }

  async goto() {
    await this.page.goto('/login');
    await expect(this.submit).toBeVisible();
  }

  async logIn(login = ADMIN.login, password = ADMIN.password) {
    await this.login.fill(login);
    await this.password.fill(password);
    await this.submit.click();
  }
}

export class SessionsPage {
  constructor(page) {
    this.page = page;
    this.heading = page.getByRole('heading', { level: 1, name: 'Сессии импорта' });
    this.emptyState = page.getByTestId('empty-state');
    this.table = page.getByRole('table', { name: 'Сессии импорта' });
    this.logout = page.getByRole('button', { name: 'Выйти' });
    this.currentUser = page.getByTestId('current-user');
  }

  async goto() {
    await this.page.goto('/');
    await expect(this.heading).toBeVisible();
  }

  rows() {
    return this.table.locator('tbody tr');
  }
}

/** Logs in through the form and waits for the monitor. */
export async function logInAsAdmin(page) {
  const login = new LoginPage(page);
  await login.goto();
  await login.logIn();
  const sessions = new SessionsPage(page);
  await expect(sessions.heading).toBeVisible();
  return sessions;
}

export class ImportPage {
  constructor(page) {
    this.page = page;
    this.heading = page.getByRole('heading', { level: 1, name: 'Выбор типов данных для импорта' });
    this.catalog = page.getByRole('checkbox', { name: 'Каталог товаров', exact: true });
    this.stocks = page.getByRole('checkbox', { name: 'Остатки товаров', exact: true });
    this.prices = page.getByRole('checkbox', { name: 'Цены товаров', exact: true });
    this.customers = page.getByRole('checkbox', { name: 'Клиенты', exact: true });
    this.start = page.getByRole('button', { name: 'Запустить импорт' });
    this.cancelPage = page.getByRole('button', { name: 'Отмена' });
    this.cancelRun = page.getByRole('button', { name: 'Отменить импорт' });
    this.messages = page.getByRole('status', { includeHidden: true });
    this.panel = page.getByTestId('run-panel');
    this.runMessage = page.getByTestId('run-message');
  }

  async goto() {
    await this.page.goto('/import');
    await expect(this.heading).toBeVisible();
  }

  /** Ticks exactly these kinds (catalog, stocks, prices, customers). */
  async choose(kinds) {
    for (const [name, box] of Object.entries({ catalog: this.catalog, stocks: this.stocks, prices: this.prices, customers: this.customers })) {
      await box.setChecked(kinds.includes(name));
    }
  }

  /** A kind's line in the progress panel (Каталог, Остатки, Цены, Клиенты). */
  kindLine(kind) {
    return this.panel.locator(`li[data-kind="${kind}"]`);
  }

  /**
   * Clicks «Запустить импорт». Returns the id of the run it started (read from the server's
   * answer), or null when the server refused (the reason is then in the messages area).
   */
  async startRun() {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => r.url().endsWith('/api/start_import')),
      this.start.click(),
    ]);
    this.runId = response.ok() ? (await response.json()).run_id : null;
    return this.runId;
  }

  /** Waits for the run started by startRun() to end and returns its final message. */
  async finalMessage() {
    const panel = this.runId ? this.page.locator(`[data-testid="run-panel"][data-run="${this.runId}"]`) : this.panel;
    await expect(panel).not.toHaveAttribute('data-phase', 'running', { timeout: 120_000 });
    const message = panel.getByTestId('run-message');
    await expect(message).toBeVisible();
    return (await message.textContent()).replace(/\u00a0/g, ' ');
  }
}

export class ExchangePage {
  constructor(page) {
    this.page = page;
    this.heading = page.getByRole('heading', { level: 1, name: 'Обмен с 1С' });
    this.headerLink = page.getByRole('navigation', { name: 'Разделы' }).getByRole('link', { name: 'Обмен с 1С' });
    this.setup = page.getByTestId('exchange-setup');
    this.address = page.getByTestId('exchange-address');
    this.mode = page.getByTestId('exchange-mode');
    this.none = page.getByTestId('no-exchanges');
    this.exchanges = page.getByTestId('exchange');
  }

  /** Opens the page from the header's link. */
  async open() {
    await this.headerLink.click();
    await expect(this.heading).toBeVisible();
  }

  /** The journal rows of one exchange with `mode` (and, when given, the file). */
  requests(exchange, mode) {
    return exchange.locator(`[data-testid="exchange-request"][data-mode="${mode}"]`);
  }
}
