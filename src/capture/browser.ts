import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { Dispatcher } from 'undici';
import type { Logger } from '../logger';
import type { AddressGuard } from '../net/addressGuard';
import { startGuardProxy, type GuardProxy, type Refusal } from './guardProxy';

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
  /** The scrape-side guard and dispatcher: every request of a page goes through them. */
  guard: AddressGuard;
  http: Dispatcher;
  maxBytes: number;
  logger: Logger;
}

/** What the guard refused since the page opened, oldest first. */
export interface PageGuardLog {
  refusedSince(): Refusal[];
}

export interface PageOptions {
  viewport: { width: number; height: number };
  timeoutMs: number;
}

/** Pages to render in: what a capture needs of the browser (BrowserPool is one). */
export interface PageRenderer {
  withPage<T>(opts: PageOptions, fn: (page: Page, seen: PageGuardLog) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * One Chromium per worker process, a fresh context per job, at most
 * `concurrency` pages at once; a browser that died is launched again on the
 * next use. Chromium reaches the network only through the guard proxy, so
 * the SSRF guard holds for sub-resources, redirects and WebSockets as it
 * does for plain scrapes.
 */
export class BrowserPool implements PageRenderer {
  private browser: Promise<Browser> | null = null;
  private proxy: Promise<GuardProxy> | null = null;
  private active = 0;
  private waiting: Array<() => void> = [];
  private closed = false;

  constructor(private readonly o: BrowserPoolOptions) {}

  /**
   * The one browser. Concurrent callers share a single launch; a browser that
   * died is replaced once, by whichever caller notices first.
   */
  private async getBrowser(): Promise<Browser> {
    for (;;) {
      const pending = (this.browser ??= this.launch());
      const b = await pending.catch((err) => {
        if (this.browser === pending) this.browser = null;
        throw err;
      });
      if (b.isConnected()) return b;
      if (this.browser === pending) this.browser = null;
    }
  }

  /** The one guard proxy of this pool, started with the first browser. */
  private guardProxy(): Promise<GuardProxy> {
    return (this.proxy ??= startGuardProxy({ guard: this.o.guard, http: this.o.http, maxBytes: this.o.maxBytes, timeoutMs: 60_000 }));
  }

  private async launch(): Promise<Browser> {
    const proxy = await this.guardProxy();
    const b = await chromium
      .launch({
        executablePath: this.o.chromiumPath,
        headless: true,
        args: LAUNCH_ARGS,
        // <-loopback>: Chromium would otherwise reach loopback directly, past the guard.
        proxy: { server: proxy.url, bypass: '<-loopback>' },
        // Hookshot owns shutdown: the browser closes after in-flight captures finish.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      })
      .catch((err: Error) => {
        throw new BrowserUnavailableError(`the browser could not be launched (${this.o.chromiumPath}): ${err.message.split('\n')[0]}`);
      });
    b.on('disconnected', () => {
      if (!this.closed) this.o.logger.warn('browser disconnected; the next capture launches a new one');
    });
    return b;
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

  async withPage<T>(opts: PageOptions, fn: (page: Page, seen: PageGuardLog) => Promise<T>, signal?: AbortSignal): Promise<T> {
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
      const proxy = await this.guardProxy();
      const since = performance.now();
      const seen: PageGuardLog = { refusedSince: () => proxy.refusedSince(since) };
      const page = await context.newPage();
      const onAbort = () => void context?.close().catch(() => undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await fn(page, seen);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } finally {
      await context?.close().catch(() => undefined);
      this.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const b = await this.browser?.catch(() => null);
    await b?.close().catch(() => undefined);
    this.browser = null;
    await (await this.proxy?.catch(() => null))?.close();
    this.proxy = null;
  }
}

/** The worker cannot run a browser: a worker-side fault, retried by Temporal, never the page's. */
export class BrowserUnavailableError extends Error {}
