// «Обмен с 1С»: an exchange replayed by the 1C stand-in (`onec-admin exchange send`, the 1C-Bitrix
// add-on's protocol, zipped) appears on the page while it runs, without a reload, with every
// request, the bytes received, 1C's view of each reply and links to the import sessions each
// file produced; those sessions say that 1C's exchange started them. Runs last: a finished
// exchange publishes its export into ONEC_DATA_DIR.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { DATABASE_URL, PORT, ROOT, SERVER_BIN } from '../playwright.config.js';
import { ExchangePage, docShot, logInAsAdmin } from './support/pages.js';

test.describe.configure({ mode: 'serial' });

const ACCOUNT = { login: '1c-e2e', password: 'exchange-password-123' };

/** Runs `onec-admin` in the server's working directory against its database. */
function cli(args, input) {
  return execFileSync(SERVER_BIN, args, {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL, RUST_LOG: 'warn' },
  });
}

/** Starts the stand-in; resolves with its exit code and output when it ends. */
function sendExchange(dir) {
  const child = spawn(SERVER_BIN, ['exchange', 'send', '--url', `http://127.0.0.1:${PORT}/1c/exchange`,
    '--login', ACCOUNT.login, '--password-stdin', '--protocol', 'bitrix', '--zip', '--poll-ms', '300', dir],
  { cwd: ROOT, env: { ...process.env, RUST_LOG: 'warn' } });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  child.stdin.end(`${ACCOUNT.password}\n`);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

test('an exchange from 1C shows up live with its requests, replies and sessions', async ({ page }) => {
  cli(['create-user', '--login', ACCOUNT.login, '--role', 'exchange', '--password-stdin'], `${ACCOUNT.password}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-exchange-'));
  const summary = JSON.parse(cli(['gen-data', '--products', '150', '--customers', '0', '--seed', '41', '--out', dir]));

  await logInAsAdmin(page);
  const ex = new ExchangePage(page);
  await ex.open();
  await expect(ex.address).toHaveText(`http://127.0.0.1:${PORT}/1c/exchange`);
  await expect(ex.mode).toHaveText(/загружать каждый файл в базу сразу/);
  await expect(ex.none).toBeVisible();

  const sent = sendExchange(dir);
  // Live: the exchange appears while 1C is still sending, without a reload.
  const exchange = ex.exchanges.first();
  await expect(exchange).toBeVisible({ timeout: 30_000 });
  await expect(exchange).toContainText(`учётная запись «${ACCOUNT.login}»`);
  const { code, out } = await sent;
  expect(code, out).toBe(0);

  await expect(ex.requests(exchange, 'complete')).toHaveCount(1, { timeout: 15_000 });
  await expect(exchange.getByTestId('exchange-result')).toHaveText('Успешно');
  await expect(ex.requests(exchange, 'init')).toHaveCount(1);
  await expect(ex.requests(exchange, 'init').getByTestId('request-reply')).toContainText('zip=yes');
  const upload = ex.requests(exchange, 'file');
  await expect(upload).toHaveCount(1);
  await expect(upload).toContainText(/file · v8_.*\.zip/);
  await expect(ex.requests(exchange, 'deactivate').getByTestId('request-reply')).toContainText('Деактивация пропущена');

  // Every XML file of the export was imported through the orchestrator: one row per file
  // (progress polls folded), a `success` reply and the session it produced.
  const imports = ex.requests(exchange, 'import');
  const xml = summary.files.filter((f) => f.endsWith('.xml')).length;
  await expect(imports).toHaveCount(xml);
  for (const row of await imports.all()) {
    await expect(row.getByTestId('request-reply')).toHaveText(/^success\nФайл «.+» загружен: /);
    await expect(row.getByTestId('request-sessions').getByRole('link')).toHaveCount(1);
  }
  const catalog = imports.filter({ hasText: 'Каталог' }).first();
  await expect(catalog.getByTestId('request-sessions')).toContainText('✅ Завершен');
  await docShot(page, 'exchange');

  // The session says who started it.
  await catalog.getByTestId('request-sessions').getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: /Сессия импорта №\d+/ })).toBeVisible();
  await expect(page.getByText(`1С (обмен) · ${ACCOUNT.login}`)).toBeVisible();
  fs.rmSync(dir, { recursive: true, force: true });
});
