import type { Page } from 'playwright-core';
import type { PageGuardLog } from './browser';
import { watchMainFrame, type MainFrameWatch } from './mainFrame';

export type ImageFormat = 'png' | 'jpg' | 'webp';
export const IMAGE_CONTENT_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' };

export interface ScreenshotParams {
  url: string;
  format: ImageFormat;
  /** 'viewport', 'fullpage', or a CSS selector. */
  capture: string;
  resolution: { width: number; height: number };
  rendering_wait: number;
  wait_for_selector?: string;
}

export class CaptureError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly retryable: boolean,
  ) {
    super(message);
  }
}

const isClosed = (err: unknown) => /has been closed|Target closed/i.test((err as Error)?.message ?? '');

export interface RenderOptions {
  url: string;
  waitForSelector?: string;
  renderingWait: number;
  /** Bounds each grab, which Chromium can otherwise leave hanging. */
  timeoutMs: number;
}

/**
 * Loads the page, waits as asked, then grabs what the job wants from it (the
 * HTML, an image). Fails with ADDRESS_REFUSED, naming the URL, when the main
 * frame was sent to a refused address at any time until the grab is done,
 * whatever else went wrong meanwhile; with NETWORK or TIMEOUT when it went to
 * an http:// target that did not answer. A page that navigates while being
 * grabbed is grabbed again where it lands.
 */
export async function renderPage<T>(
  page: Page,
  seen: PageGuardLog,
  opts: RenderOptions,
  grab: () => Promise<T>,
): Promise<{ status: number | null; finalUrl: string; value: T }> {
  const watch = watchMainFrame(page, seen);
  const check = () => {
    if (watch.refused !== null) throw new CaptureError('ADDRESS_REFUSED', watch.refused, false);
    // The proxy's stand-in answer for a target that did not answer is no page to capture.
    if (watch.unreachable !== null) throw new CaptureError(watch.unreachable.code, watch.unreachable.message, true);
  };
  try {
    // Checked before the waits, so a page that is itself the refusal does not wait for a selector first.
    const status = await loadPage(page, opts, check);
    for (let navigations = 0; ; navigations++) {
      // A navigation under way (a script that ran while parsing, a 0 s
      // refresh) is seen through to its answer; the proxy answers refusals at once.
      await watch.settle(navigations === 0 ? 0 : 200, 2_000);
      check();
      if (navigations > 0) await page.waitForLoadState('load');
      const grabbed = await grabUnlessNavigating(grab, watch, opts.timeoutMs);
      check();
      if (grabbed.done) return { status, finalUrl: page.url(), value: grabbed.value };
      if (navigations >= 3) throw new CaptureError('NETWORK', 'the page kept navigating while it was being captured', true);
    }
  } catch (err) {
    if (isClosed(err) || (err instanceof CaptureError && err.code === 'ADDRESS_REFUSED')) throw err;
    // Where the page went decides the error.
    await watch.settle(200, 2_000);
    check();
    throw err;
  } finally {
    watch.stop();
  }
}

/**
 * Runs grab, unless the main frame starts navigating first: Chromium never
 * answers a screenshot taken across a navigation to another site, and
 * page.content() fails on one. A grab left behind ends with the context.
 */
function grabUnlessNavigating<T>(
  grab: () => Promise<T>,
  watch: MainFrameWatch,
  timeoutMs: number,
): Promise<{ done: true; value: T } | { done: false }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CaptureError('TIMEOUT', `the page could not be captured within ${timeoutMs} ms`, true)), timeoutMs);
    const unsubscribe = watch.onNavigation(() => resolve({ done: false }));
    grab()
      .then(
        (value) => resolve({ done: true, value }),
        (err: Error) => (/is navigating/i.test(err.message ?? '') ? resolve({ done: false }) : reject(err)),
      )
      .finally(() => {
        clearTimeout(timer);
        unsubscribe();
      });
  });
}

/** Loads the page and waits as asked; returns the main response's status. */
async function loadPage(page: Page, { url, waitForSelector, renderingWait }: RenderOptions, loaded: () => void): Promise<number | null> {
  let status: number | null;
  try {
    const res = await page.goto(url, { waitUntil: 'load' });
    status = res?.status() ?? null;
  } catch (err) {
    const m = (err as Error).message;
    if (isClosed(err)) throw err;
    if (/Timeout/i.test(m)) throw new CaptureError('TIMEOUT', `page did not load in time: ${firstLine(m)}`, true);
    if (/ERR_BLOCKED_BY_CLIENT/.test(m)) throw new CaptureError('ADDRESS_REFUSED', `the address guard refused ${url}`, false);
    throw new CaptureError('NETWORK', `page could not be loaded: ${firstLine(m)}`, true);
  }
  loaded();
  if (waitForSelector) {
    try {
      await page.waitForSelector(waitForSelector, { state: 'visible' });
    } catch (err) {
      throw new CaptureError(
        'SELECTOR_TIMEOUT',
        `wait_for_selector "${waitForSelector}" did not appear: ${firstLine((err as Error).message)}`,
        false,
      );
    }
  }
  if (renderingWait > 0) await page.waitForTimeout(renderingWait);
  return status;
}

/**
 * Screenshot through the DevTools protocol: it speaks png, jpeg and webp
 * alike, and clips to the full page or an element beyond the viewport.
 */
export async function takeScreenshot(page: Page, p: ScreenshotParams): Promise<Buffer> {
  const cdp = await page.context().newCDPSession(page);
  const format: 'png' | 'jpeg' | 'webp' = p.format === 'jpg' ? 'jpeg' : p.format;
  let clip: { x: number; y: number; width: number; height: number; scale: number } | undefined;
  if (p.capture === 'fullpage') {
    const m = (await cdp.send('Page.getLayoutMetrics')) as { cssContentSize: { width: number; height: number } };
    clip = { x: 0, y: 0, width: Math.ceil(m.cssContentSize.width), height: Math.ceil(m.cssContentSize.height), scale: 1 };
  } else if (p.capture !== 'viewport') {
    const box = await page
      .evaluate((sel) => {
        // Runs in the page; the project compiles without DOM typings.
        const w = globalThis as unknown as {
          document: { querySelector(s: string): { getBoundingClientRect(): { left: number; top: number; width: number; height: number } } | null };
          scrollX: number;
          scrollY: number;
        };
        const el = w.document.querySelector(sel);
        if (!el) return null;
        const r = el.getBoundingClientRect();
        return { x: r.left + w.scrollX, y: r.top + w.scrollY, width: r.width, height: r.height };
      }, p.capture)
      .catch((err: Error) => {
        throw new CaptureError('INVALID_SELECTOR', `capture "${p.capture}" is not a valid CSS selector: ${firstLine(err.message)}`, false);
      });
    if (!box || box.width === 0 || box.height === 0) {
      throw new CaptureError('SELECTOR_NOT_FOUND', `capture selector "${p.capture}" matches no visible element`, false);
    }
    clip = { x: box.x, y: box.y, width: Math.ceil(box.width), height: Math.ceil(box.height), scale: 1 };
  }
  const params = {
    format,
    ...(format !== 'png' ? { quality: 85 } : {}),
    ...(clip ? { clip, captureBeyondViewport: true } : {}),
  };
  // Chromium now and then answers "Unable to capture screenshot" while a
  // frame is being produced; a short wait and another try gets it.
  for (let attempt = 1; ; attempt++) {
    try {
      const shot = (await cdp.send('Page.captureScreenshot', params)) as { data: string };
      await cdp.detach().catch(() => undefined);
      return Buffer.from(shot.data, 'base64');
    } catch (err) {
      if (attempt >= 4 || !/Unable to capture screenshot/i.test((err as Error).message)) throw err;
      await page.waitForTimeout(150 * attempt);
    }
  }
}

const firstLine = (m: string) => (m.split('\n')[0] ?? '').slice(0, 300);
