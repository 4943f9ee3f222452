import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { repoRoot } from '../../src/repoRoot';

const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/** What the page did that it should not have. */
interface Offences {
  offLoopback: string[];
  failed: string[];
  consoleErrors: string[];
  cspViolations: string[];
}

describe('/docs in a real browser', () => {
  let hs: TestHookshot;
  let browser: Browser;
  before(async () => {
    hs = await startTestHookshot();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      // A proxy nobody listens on: anything not bound for loopback cannot
      // reach the network even if the route check below missed it.
      // (Playwright proxies loopback too unless it is listed here.)
      proxy: { server: 'http://127.0.0.1:9', bypass: '127.0.0.1,localhost,[::1]' },
    });
  });
  after(async () => {
    await browser?.close();
    await hs?.close();
  });

  it('Swagger UI renders every operation from /openapi.json, with nothing fetched off loopback and no CSP violation', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const off: Offences = { offLoopback: [], failed: [], consoleErrors: [], cspViolations: [] };
    const seen: string[] = [];
    try {
      // Recorded by the request listener below; refused here so nothing waits on it.
      await context.route('**/*', (route) =>
        isLoopback(new URL(route.request().url()).hostname) ? route.continue() : route.abort('blockedbyclient'),
      );
      context.on('request', (req) => {
        const u = new URL(req.url());
        if (u.protocol === 'data:') return; // the stylesheet's icons
        seen.push(`${req.method()} ${u.pathname}`);
        if (!isLoopback(u.hostname)) off.offLoopback.push(u.href);
      });
      context.on('requestfailed', (req) => off.failed.push(`${req.url()}: ${req.failure()?.errorText}`));
      context.on('response', (res) => {
        if (res.status() >= 400) off.failed.push(`${res.url()}: ${res.status()}`);
      });
      // Injected by the browser driver, so the page's CSP does not apply to it.
      // (Strings: this project compiles without the DOM types.)
      await context.addInitScript({
        content: `window.__csp = [];
          document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
      });

      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') off.consoleErrors.push(m.text());
      });
      page.on('pageerror', (err) => off.consoleErrors.push(`uncaught: ${err.message}`));
      page.on('websocket', (ws) => off.offLoopback.push(`websocket ${ws.url()}`));

      const res = await page.goto(`${hs.apiUrl}/docs`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      assert.match((await res!.allHeaders())['content-security-policy'] ?? '', /default-src 'self'/);

      const doc = (await hs.api('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
      const expected = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
      await page.waitForFunction(`document.querySelectorAll('.opblock').length >= ${expected.length}`, undefined, { timeout: 30_000 });

      const listed = await page.$$eval('.opblock', (blocks) =>
        blocks.map(
          (b) =>
            `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
        ),
      );
      for (const op of ['GET /scrape', 'POST /scrape', 'POST /webhooks', 'GET /webhooks', 'GET /webhooks/{name}/deliveries', 'GET /jobs/{uuid}']) {
        assert.ok(listed.includes(op), `${op} is listed in ${listed.join(', ')}`);
      }
      assert.deepEqual([...listed].sort(), [...expected].sort(), 'Swagger UI lists exactly the documented operations');
      assert.equal((await page.textContent('.info .title'))?.startsWith('Hookshot API'), true);
      assert.ok(seen.includes('GET /openapi.json'), seen.join(', '));

      const shot = path.join(repoRoot(), 'test', 'artifacts', 'docs.png');
      mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });

      // Open one operation: its parameter table and the schema highlighting render under the same CSP.
      const getScrape = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/scrape"]') });
      await getScrape.locator('.opblock-summary-control').click();
      await getScrape.locator('tr[data-param-name="url"]').waitFor({ timeout: 10_000 });
      await getScrape.locator('.try-out__btn').click();
      await getScrape.locator('tr[data-param-name="url"] input').waitFor({ timeout: 10_000 });

      off.cspViolations = await page.evaluate<string[]>('window.__csp');
      await page.close();
    } finally {
      await context.close();
    }
    assert.deepEqual(off, { offLoopback: [], failed: [], consoleErrors: [], cspViolations: [] });
  });
});
