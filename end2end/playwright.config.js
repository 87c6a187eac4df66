// The end-to-end suite: a real onec-admin server (SQLite by default, PostgreSQL when
// E2E_DATABASE_URL says so), a real Redis, Debian's Chromium. See end2end/README.md.
import { defineConfig } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { server, suite } from './shared.config.js';

/** The repository root: the server's working directory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const PORT = process.env.E2E_PORT || '3901';
const WORK = process.env.E2E_WORK_DIR || 'target/e2e';
/** The server's database (a SQLite URL relative to ROOT, or E2E_DATABASE_URL). */
export const DATABASE_URL = process.env.E2E_DATABASE_URL || `sqlite://${WORK}/e2e.db?mode=rwc`;
export const ADMIN = { login: 'qa-admin', password: 'qa-password-123' };
/** Where the server reads 1C exports; tests write generated exports here. */
export const DATA_DIR = path.resolve(ROOT, WORK, '1c');
/** The server binary (also runs `gen-data`). */
export const SERVER_BIN = path.resolve(ROOT, process.env.SERVER_BIN || 'target/debug/onec-admin');
/** Redis key prefix of this run, so parallel runs on one Redis never share a lock. */
const REDIS_PREFIX = process.env.E2E_REDIS_PREFIX || `onec-e2e-${process.pid}`;

export default defineConfig({
  ...suite({
    testDir: './tests',
    outputDir: 'test-results',
    timeout: 60_000,
    baseURL: `http://127.0.0.1:${PORT}`,
  }),
  // One server and one database for the whole run: the login checks (which expect an empty
  // monitor) run first, the import steps after them.
  projects: [
    { name: 'login', testMatch: /login\.spec\.js/ },
    { name: 'import', testMatch: /import\.spec\.js/, dependencies: ['login'] },
    { name: 'csp', testMatch: /csp\.spec\.js/, dependencies: ['import'] },
    { name: 'preview', testMatch: /preview\.spec\.js/, dependencies: ['import'] },
    // Last: a finished exchange publishes its export into ONEC_DATA_DIR.
    { name: 'exchange', testMatch: /exchange\.spec\.js/, dependencies: ['preview', 'csp'] },
  ],
  webServer: server(PORT, {
    // Paths are relative to cwd (the repository root). A fresh SQLite file every run.
    command: `rm -rf ${WORK} && mkdir -p ${WORK}/1c && exec ${SERVER_BIN} serve`,
    cwd: '..',
    env: {
      DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      ONEC_BIND: `127.0.0.1:${PORT}`,
      ONEC_DIST_DIR: 'dist',
      ONEC_DATA_DIR: `${WORK}/1c`,
      ONEC_ADMIN_LOGIN: ADMIN.login,
      ONEC_ADMIN_PASSWORD: ADMIN.password,
      ONEC_REDIS_PREFIX: REDIS_PREFIX,
      RUST_LOG: 'info,sqlx=warn',
    },
  }),
});
