// What the two Playwright configs share: playwright.config.js (the end-to-end suite) and
// proxy.config.js (the reverse-proxy suite) run one worker without retries in Debian's
// Chromium, headless and in Russian, against servers Playwright starts itself.

/**
 * The settings of a suite: its tests under `testDir`, its results in `outputDir`, `timeout`
 * ms per test, the browser's pages relative to `baseURL`.
 */
export function suite({ testDir, outputDir, timeout, baseURL }) {
  return {
    testDir,
    timeout,
    expect: { timeout: 15_000 },
    retries: 0,
    workers: 1,
    reporter: [['list']],
    outputDir,
    use: {
      baseURL,
      headless: true,
      locale: 'ru-RU',
      screenshot: 'only-on-failure',
      trace: 'retain-on-failure',
      launchOptions: {
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      },
    },
  };
}

/**
 * A `webServer` entry: `fields` (command, cwd, env) of a server started fresh for the run,
 * ready once `http://127.0.0.1:<port>/healthz` answers (60 s at most), its output piped.
 */
export function server(port, fields) {
  return {
    ...fields,
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  };
}
