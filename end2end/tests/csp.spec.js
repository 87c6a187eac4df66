// The Content-Security-Policy holds the whole app: no page breaks a rule of it (the browser
// reports every violation as a `securitypolicyviolation` event and a console message), across
// the login page, the monitor, the import page with a live run, and a session's page. Runs
// after the import steps (it adds a session of its own).
import { test, expect } from '@playwright/test';
import { ImportPage, LoginPage, SessionsPage } from './support/pages.js';
import { generateExport } from './support/data.js';

/** Collects CSP violations of every page this `page` shows, from both sources. */
async function watchViolations(page) {
  const violations = [];
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy|securitypolicyviolation/i.test(text)) {
      violations.push(`${page.url()}: ${text}`);
    }
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`securitypolicyviolation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return violations;
}

test('every page keeps to the Content-Security-Policy', async ({ page }) => {
  const violations = await watchViolations(page);

  // The login page: the header is there, and the wasm app starts under it (the loader's hash).
  const response = await page.goto('/login');
  const csp = response.headers()['content-security-policy'];
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval' 'sha256-");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  const login = new LoginPage(page);
  await expect(login.submit).toBeVisible();
  await login.logIn();

  // The monitor.
  const sessions = new SessionsPage(page);
  await expect(sessions.heading).toBeVisible();

  // The import page with a run going (its progress bars set their width under the CSP).
  generateExport({ products: 8000, customers: 5, seed: 21 });
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['catalog']);
  expect(await imp.startRun()).not.toBeNull();
  const bar = imp.kindLine('catalog').locator('.bar');
  await expect(bar).toHaveCount(1);
  expect(await bar.evaluate((el) => el.style.width)).toMatch(/^\d+%$/);
  expect(await imp.finalMessage()).toMatch(/^✅ Импорт завершен/);

  // A session's page.
  await sessions.goto();
  await sessions.rows().nth(0).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(/Сессия импорта №\d+/);

  expect(violations).toEqual([]);
});
