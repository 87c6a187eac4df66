// «Проверить без записи» → «Что изменилось» → «Запустить импорт» from the preview's result, with
// the warning when the export changed in between. Runs after import.spec.js on the same server.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { DATA_DIR } from '../playwright.config.js';
import { ImportPage, SessionsPage, docShot, logInAsAdmin } from './support/pages.js';
import { generateExport } from './support/data.js';

test.describe.configure({ mode: 'serial' });

/** Clicks «Проверить без записи» and waits for the preview's end; returns the panel. */
async function runPreview(page, imp) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/start_preview')),
    page.getByTestId('preview').click(),
  ]);
  expect(response.ok()).toBe(true);
  const runId = (await response.json()).run_id;
  const panel = page.locator(`[data-testid="run-panel"][data-run="${runId}"]`);
  await expect(panel).toHaveAttribute('data-mode', 'preview');
  await expect(panel).not.toHaveAttribute('data-phase', 'running', { timeout: 120_000 });
  return { panel, runId };
}

test('a preview says what would change, writes nothing, and the import starts from its result', async ({ page }) => {
  generateExport({ products: 120, customers: 0, seed: 31 });
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['catalog', 'stocks']);

  const { panel, runId } = await runPreview(page, imp);
  await expect(panel.getByTestId('run-message')).toHaveText(/^✅ Проверка без записи завершена, ничего не записано: Каталог/);
  await expect(panel.getByRole('heading', { name: 'Результат проверки без записи' })).toBeVisible();
  const result = page.getByTestId('preview-result');
  const catalog = result.locator('[data-kind="catalog"]');
  await expect(catalog.getByRole('heading', { name: 'Что изменилось' })).toBeVisible();
  // 120 new products: nothing of this export is in the shop yet.
  await expect(catalog.locator('tr[data-entity="Products"] td').first()).toHaveText('120');
  await expect(catalog.getByRole('heading', { name: 'Новые товары' })).toBeVisible();
  await expect(catalog.locator('.change-examples').first().locator('li')).toHaveCount(20);
  // The shot shows the change report: the result section at the top of the viewport.
  await result.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await docShot(page, 'preview-result');

  // The monitor lists the preview's sessions, marked.
  const sessions = new SessionsPage(page);
  await sessions.goto();
  const first = sessions.rows().first();
  await expect(first).toContainText('Проверка без записи');

  // Nothing was written: a second preview still finds 120 new products.
  await imp.goto();
  await imp.choose(['catalog', 'stocks']);
  const again = await runPreview(page, imp);
  const again_catalog = page.getByTestId('preview-result').locator('[data-kind="catalog"]');
  await expect(again_catalog.locator('tr[data-entity="Products"] td').first()).toHaveText('120');
  expect(again.runId).not.toBe(runId);

  // «Запустить импорт» from the result: the real import of the same kinds.
  const [started] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/start_import')),
    page.getByTestId('import-from-preview').click(),
  ]);
  expect(started.ok()).toBe(true);
  const realId = (await started.json()).run_id;
  const real = page.locator(`[data-testid="run-panel"][data-run="${realId}"]`);
  await expect(real).toHaveAttribute('data-mode', 'import');
  await expect(real).not.toHaveAttribute('data-phase', 'running', { timeout: 120_000 });
  await expect(real.getByTestId('run-message')).toHaveText(/^✅ Импорт завершен: Каталог \(120 товаров[,)].*Остатки/);
  await expect(real.locator('li[data-kind="catalog"]')).toContainText('Готово');

  // The session page of the real import shows «Что изменилось».
  await real.locator('li[data-kind="catalog"]').getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Что изменилось' })).toBeVisible();
  await expect(page.locator('tr[data-entity="Products"] td').first()).toHaveText('120');
});

test('when the export changed after the preview, the page says so before importing', async ({ page }) => {
  await logInAsAdmin(page);
  const imp = new ImportPage(page);
  await imp.goto();
  await imp.choose(['catalog']);
  await runPreview(page, imp);
  const result = page.getByTestId('preview-result');
  // A re-import of the data just imported: nothing new, nothing changed.
  await expect(result.locator('[data-kind="catalog"] tr[data-entity="Products"] td').nth(0)).toHaveText('0');
  await expect(result.locator('[data-kind="catalog"] tr[data-entity="Products"] td').nth(1)).toHaveText('0');

  // 1C writes the goods again meanwhile.
  const goods = path.join(DATA_DIR, 'goods');
  const file = fs.readdirSync(goods).filter((f) => f.endsWith('.xml')).sort()[0];
  fs.appendFileSync(path.join(goods, file), '\n');
  await page.getByTestId('import-from-preview').click();
  const warning = page.getByTestId('files-changed');
  await expect(warning).toHaveText(new RegExp(`^⚠️ Файлы выгрузки изменились после проверки: goods/${file}\\.`));
  const [started] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/start_import')),
    page.getByRole('button', { name: 'Всё равно запустить импорт' }).click(),
  ]);
  expect(started.ok()).toBe(true);
  // Wait on the new run's panel: until it replaces the preview's, the old one is still shown.
  imp.runId = (await started.json()).run_id;
  expect(await imp.finalMessage()).toMatch(/^✅ Импорт завершен: Каталог/);
});
