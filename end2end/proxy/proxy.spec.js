// Through nginx (deploy/nginx-onec-admin.conf) in front of two instances: the login, the Secure
// session cookie behind `X-Forwarded-Proto: https`, and an import started on one instance
// streaming live to a browser that the proxy connected to the other, with every event through
// the proxy no more than 1 s behind the same event read from the instance directly.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { ADMIN } from '../playwright.config.js';
import { DATA_DIR, INSTANCES, PROXY_PORT, SERVER_BIN } from '../proxy.config.js';
import { logInAsAdmin } from '../tests/support/pages.js';

/** A generated export where both instances read it. */
function generateExport(products, customers) {
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
  const out = execFileSync(SERVER_BIN, ['gen-data', '--products', String(products), '--customers',
    String(customers), '--seed', '11', '--out', DATA_DIR], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** A form POST to a server function of one instance (no browser, so no Origin header). */
async function serverFn(port, name, form, cookie) {
  const res = await fetch(`http://127.0.0.1:${port}/api/${name}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
      ...(cookie ? { Cookie: cookie } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
  return res;
}

/**
 * Reads an event stream as a browser asks for it (gzip accepted); resolves with the arrival
 * time of every state by `seq` once the run has ended (or `limitMs` passed).
 */
function readStream(port, path, cookie, limitMs = 120_000) {
  return new Promise((resolve, reject) => {
    const arrivals = new Map();
    let finished = false;
    const headers = { Cookie: cookie, Accept: 'text/event-stream', 'Accept-Encoding': 'gzip, deflate' };
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${path} via ${port}: ${res.statusCode}`));
        return;
      }
      const body = res.headers['content-encoding'] === 'gzip'
        ? res.pipe(zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH })) : res;
      let buf = '';
      body.setEncoding('utf8');
      body.on('data', (chunk) => {
        const now = Date.now();
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line.startsWith('data:')) continue;
          const state = JSON.parse(line.slice(5));
          if (!arrivals.has(state.seq)) arrivals.set(state.seq, { at: now, state });
          if (state.phase !== 'running') finished = true;
        }
      });
      body.on('end', () => resolve({ arrivals, finished }));
    });
    req.on('error', reject);
    setTimeout(() => { req.destroy(); resolve({ arrivals, finished }); }, limitMs);
  });
}

test('login through the proxy sets a Secure, HttpOnly session cookie', async ({ page, context }) => {
  await logInAsAdmin(page);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name.includes('onec_session'));
  expect(session, JSON.stringify(cookies)).toBeTruthy();
  expect(session.secure).toBe(true);
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe('Strict');
});

test('an import started on one instance streams live through the proxy to a browser on the other', async ({ page, context }) => {
  generateExport(2500, 1000);
  // The monitor's event stream: which instance did the proxy connect the browser to?
  const eventsResponse = page.waitForResponse((r) => new URL(r.url()).pathname === '/events');
  await logInAsAdmin(page);
  const upstream = (await eventsResponse).headers()['x-onec-upstream'] || '';
  const watched = INSTANCES.find((p) => upstream.endsWith(`:${p}`));
  expect(watched, `X-Onec-Upstream: ${upstream}`).toBeTruthy();
  const other = INSTANCES.find((p) => p !== watched);

  // Log in on the other instance directly and start the import there.
  const login = await serverFn(other, 'login', { login: ADMIN.login, password: ADMIN.password });
  expect(login.ok).toBe(true);
  const directCookie = login.headers.get('set-cookie').split(';')[0];
  const started = await serverFn(other, 'start_import',
    { 'kinds[0]': 'catalog', 'kinds[1]': 'stocks', 'kinds[2]': 'prices', 'kinds[3]': 'customers' }, directCookie);
  const body = await started.json();
  expect(body.run_id, JSON.stringify(body)).toBeTruthy();
  const runId = body.run_id;

  // The same run's states, read directly from its instance and through the proxy.
  const browserCookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const direct = readStream(other, `/events/runs/${runId}`, directCookie);
  const proxied = readStream(PROXY_PORT, `/events/runs/${runId}`, browserCookie);

  // The browser on the other instance shows the progress change while the run is running.
  const row = page.locator(`tr[data-run="${runId}"]`).first();
  const text = row.locator('.progress-text');
  const seen = new Set();
  let running = true;
  direct.then(() => { running = false; });
  while (running) {
    const t = await text.textContent({ timeout: 200 }).catch(() => null);
    const processed = t && Number((t.match(/\(([\d\s\u00a0]+)\//) || [])[1]?.replace(/[\s\u00a0]/g, ''));
    if (processed > 0 && running) seen.add(processed);
    await page.waitForTimeout(100);
  }
  expect(seen.size, `live values seen: ${[...seen]}`).toBeGreaterThanOrEqual(2);

  const [d, p] = await Promise.all([direct, proxied]);
  expect(d.finished && p.finished).toBe(true);
  const common = [...d.arrivals.keys()].filter((seq) => p.arrivals.has(seq));
  expect(common.length).toBeGreaterThanOrEqual(4);
  const lag = Math.max(...common.map((seq) => p.arrivals.get(seq).at - d.arrivals.get(seq).at));
  console.log(`${common.length} events; largest lag through the proxy: ${lag} ms`);
  expect(lag).toBeLessThan(1000);

  // The monitor ends with the four completed sessions of that run.
  await expect(page.locator(`tr[data-run="${runId}"]`)).toHaveCount(4);
  await expect(page.locator(`tr[data-run="${runId}"] td[data-label="Статус"]`)).toHaveText(
    Array(4).fill(/Заверш/), { timeout: 30_000 });
});
