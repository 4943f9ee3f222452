import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { Dispatcher } from 'undici';
import type { Logger } from '../logger';
import { AddressRefusedError, request } from '../delivery/httpClient';

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export interface BrowserPoolOptions {
  chromiumPath: string;
  /** Pages open at once in this process. */
  concurrency: number;
  /** The scrape-side guarded dispatcher: every request of the page goes through it. */
  http: Dispatcher;
  maxBytes: number;
  logger: Logger;
}

export interface PageOptions {
  viewport: { width: number; height: number };
  timeoutMs: number;
}

/**
 * One Chromium per worker process, a fresh context per job, at most
 * `concurrency` pages at once; a browser that died is launched again on the
 * next use. Chromium never touches the network itself: every request is
 * routed through the address-guarded HTTP client, so the SSRF guard holds
 * for sub-resources and redirects as it does for plain scrapes.
 */
export class BrowserPool {
  private browser: Promise<Browser> | null = null;
  private active = 0;
  private waiting: Array<() => void> = [];
  private closed = false;

  constructor(private readonly o: BrowserPoolOptions) {}

  private async getBrowser(): Promise<Browser> {
    if (this.browser) {
      const b = await this.browser.catch(() => null);
      if (b && b.isConnected()) return b;
    }
    this.browser = chromium.launch({ executablePath: this.o.chromiumPath, headless: true, args: LAUNCH_ARGS }).then((b) => {
      b.on('disconnected', () => {
        if (!this.closed) this.o.logger.warn('browser disconnected; the next capture launches a new one');
      });
      return b;
    });
    return this.browser;
  }

  /** PID of the running browser (tests kill it to prove recovery). */
  async browserPid(): Promise<number | null> {
    const b = await this.getBrowser();
    const proc = (b as unknown as { _connection?: unknown; process?: () => { pid?: number } }).process?.();
    return proc?.pid ?? null;
  }

  private async acquire(): Promise<void> {
    if (this.active < this.o.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }

  async withPage<T>(opts: PageOptions, fn: (page: Page) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire();
    let context: BrowserContext | null = null;
    try {
      const browser = await this.getBrowser();
      context = await browser.newContext({
        viewport: opts.viewport,
        serviceWorkers: 'block',
        javaScriptEnabled: true,
        ignoreHTTPSErrors: false,
      });
      context.setDefaultTimeout(opts.timeoutMs);
      context.setDefaultNavigationTimeout(opts.timeoutMs);
      await this.guard(context, opts.timeoutMs);
      const page = await context.newPage();
      const onAbort = () => void context?.close().catch(() => undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await fn(page);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } finally {
      await context?.close().catch(() => undefined);
      this.release();
    }
  }

  private async guard(context: BrowserContext, timeoutMs: number): Promise<void> {
    await context.routeWebSocket(/.*/, (ws) => ws.close());
    await context.route('**/*', async (route) => {
      const req = route.request();
      const url = req.url();
      if (url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      if (!/^https?:/i.test(url)) return route.abort('blockedbyclient');
      try {
        const headers = Object.fromEntries(Object.entries(await req.allHeaders()).filter(([k]) => !k.startsWith(':')));
        // undici hands back the bytes as sent: ask for them uncompressed.
        headers['accept-encoding'] = 'identity';
        const res = await request(this.o.http, {
          url,
          method: req.method(),
          headers,
          body: req.postDataBuffer() ?? undefined,
          timeoutMs,
          maxRedirects: 0, // the browser follows redirects itself, each one routed here again
          maxBodyBytes: this.o.maxBytes,
        });
        const { 'content-length': _l, 'content-encoding': _e, 'transfer-encoding': _t, ...keep } = res.headers;
        await route.fulfill({ status: res.status, headers: keep, body: res.body });
      } catch (err) {
        await route.abort(err instanceof AddressRefusedError ? 'blockedbyclient' : 'failed').catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const b = await this.browser?.catch(() => null);
    await b?.close().catch(() => undefined);
    this.browser = null;
  }
}
