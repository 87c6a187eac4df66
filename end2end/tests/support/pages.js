// Page objects: one class per page, named after what the administrator sees. New tests should
// reach the app through these so a changed label is fixed in one place.
import { expect } from '@playwright/test';
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
