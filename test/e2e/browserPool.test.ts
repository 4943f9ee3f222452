import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrowserPool } from '../../src/capture/browser';
import { AddressGuard, parseCidrList } from '../../src/net/addressGuard';
import { createGuardedAgent } from '../../src/net/httpClient';
import { createLogger } from '../../src/logger';
import { startTestSite } from '../helpers/site';

describe('browser pool (real Chromium)', () => {
  let site: Awaited<ReturnType<typeof startTestSite>>;
  let pool: BrowserPool;
  let agent: ReturnType<typeof createGuardedAgent>;
  before(async () => {
    site = await startTestSite();
    const guard = new AddressGuard(parseCidrList('127.0.0.1/32'));
    agent = createGuardedAgent({ guard });
    pool = new BrowserPool({
      chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      concurrency: 2,
      guard,
      http: agent,
      maxBytes: 1024 * 1024,
      logger: createLogger('silent'),
    });
  });
  after(async () => {
    await pool?.close();
    await agent?.close();
    await site?.close();
  });

  it('never has more pages open than its concurrency', async () => {
    let open = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        pool.withPage({ viewport: { width: 400, height: 300 }, timeoutMs: 10_000 }, async (page) => {
          open++;
          peak = Math.max(peak, open);
          await page.goto(`${site.url}/static`);
          await page.waitForTimeout(150);
          open--;
        }),
      ),
    );
    assert.equal(peak, 2);
  });

  it('a cancellation closes the page mid-load', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const run = pool.withPage(
      { viewport: { width: 400, height: 300 }, timeoutMs: 20_000 },
      async (page) => {
        setTimeout(() => ac.abort(), 300);
        await page.goto(`${site.url}/slow`); // answers after 3 s
        return 'finished';
      },
      ac.signal,
    );
    await assert.rejects(run, /closed|ERR_ABORTED|detached/i);
    assert.ok(Date.now() - t0 < 2500, 'it did not wait for the slow page');
    // The pool is still usable afterwards.
    const title = await pool.withPage({ viewport: { width: 400, height: 300 }, timeoutMs: 10_000 }, async (page) => {
      await page.goto(`${site.url}/static`);
      return page.title();
    });
    assert.equal(title, 'Test page');
  });
});
