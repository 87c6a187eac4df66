// The reverse-proxy suite: Debian's nginx with the site from deploy/nginx-onec-admin.conf
// (templated to loopback ports; `X-Forwarded-Proto: https` as a TLS-terminating proxy sends it)
// in front of two `onec-admin serve` instances on one PostgreSQL database and one Redis prefix.
// nginx runs as a foreground child with its own prefix, pid and temp folders, not the system
// service. Run by scripts/test.sh; by hand (after `trunk build` and `cargo build -p server`):
//   E2E_DATABASE_URL=postgres://…/empty_db npx playwright test --config proxy.config.js
import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN } from './playwright.config.js';
import { server, suite } from './shared.config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BASE = Number(process.env.E2E_PORT || '3911');
/** nginx listens here; the two instances on the next two ports. */
export const PROXY_PORT = BASE;
export const INSTANCES = [BASE + 1, BASE + 2];
export const WORK = path.resolve(ROOT, process.env.E2E_WORK_DIR || 'target/e2e-proxy');
export const DATA_DIR = path.join(WORK, '1c');
export const SERVER_BIN = path.resolve(ROOT, process.env.SERVER_BIN || 'target/debug/onec-admin');
const NGINX = process.env.NGINX || '/usr/sbin/nginx';
const DATABASE_URL = process.env.E2E_DATABASE_URL || '';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const REDIS_PREFIX = process.env.E2E_REDIS_PREFIX || `onec-e2e-proxy-${process.pid}`;

if (!DATABASE_URL.startsWith('postgres')) {
  throw new Error('proxy.config.js: E2E_DATABASE_URL must name an empty PostgreSQL database');
}

/** deploy/nginx-onec-admin.conf with loopback addresses; every replaced line must exist. */
function site() {
  let conf = fs.readFileSync(path.join(ROOT, 'deploy/nginx-onec-admin.conf'), 'utf8');
  const swap = (from, to) => {
    if (!conf.includes(from)) throw new Error(`deploy/nginx-onec-admin.conf lost «${from}»`);
    conf = conf.replace(from, to);
  };
  swap('    server 127.0.0.1:3000;\n', INSTANCES.map((p) => `    server 127.0.0.1:${p};\n`).join(''));
  swap('listen 80;', `listen 127.0.0.1:${PROXY_PORT};`);
  // TLS is the operator's; the proxy says the browser used HTTPS.
  swap('proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_set_header X-Forwarded-Proto https;');
  return conf;
}

function nginxConf() {
  const dir = path.join(WORK, 'nginx');
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  # Which instance answered (the test picks the other one to start an import on).
  add_header X-Onec-Upstream $upstream_addr always;
  include ${dir}/site.conf;
}
`;
}

// Once, in the runner's process (workers load this file again): a fresh folder, the nginx
// files, and the schema, so the two instances never race to migrate.
if (!process.env.TEST_WORKER_INDEX) {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(path.join(WORK, 'nginx', 'tmp'), { recursive: true });
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(path.join(WORK, 'nginx', 'site.conf'), site());
  fs.writeFileSync(path.join(WORK, 'nginx', 'nginx.conf'), nginxConf());
  execFileSync(SERVER_BIN, ['migrate'], {
    cwd: WORK,
    env: { ...process.env, DATABASE_URL, REDIS_URL, RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const instance = (port, first) => server(port, {
  command: `exec ${SERVER_BIN} serve`,
  cwd: WORK,
  env: {
    DATABASE_URL,
    REDIS_URL,
    ONEC_BIND: `127.0.0.1:${port}`,
    // Browsers come through nginx (which passes their Host); the spec also reads an instance directly.
    ONEC_PUBLIC_ORIGIN: `http://127.0.0.1:${PROXY_PORT},http://127.0.0.1:${port}`,
    ONEC_DIST_DIR: path.join(ROOT, 'dist'),
    ONEC_DATA_DIR: DATA_DIR,
    ONEC_REDIS_PREFIX: REDIS_PREFIX,
    RUST_LOG: 'info,sqlx=warn',
    // Only the first creates the administrator (two would race for the same row).
    ...(first ? { ONEC_ADMIN_LOGIN: ADMIN.login, ONEC_ADMIN_PASSWORD: ADMIN.password } : {}),
  },
});

export default defineConfig({
  ...suite({
    testDir: './proxy',
    outputDir: 'test-results-proxy',
    timeout: 120_000,
    baseURL: `http://127.0.0.1:${PROXY_PORT}`,
  }),
  webServer: [
    instance(INSTANCES[0], true),
    instance(INSTANCES[1], false),
    server(PROXY_PORT, {
      command: `exec ${NGINX} -e stderr -p ${WORK}/nginx/ -c ${WORK}/nginx/nginx.conf`,
    }),
  ],
});
