// A Scrapfly crawler's page rendered in Chromium (rendering_delay > 0): the
// page is loaded through the guard proxy like a render_js scrape (every
// request of the page passes the scrape address guard), the crawl waits
// rendering_delay after the load event, and the document is built from the
// rendered DOM by the same code as a fetched page (fetchPage.ts
// buildPageDocument), so formats, links and failures read alike.
//
// Decisions:
// - The request carries the crawl's headers and User-Agent
//   (DEFAULT_USER_AGENT when it sets none) as extra HTTP headers, on the page
//   and its sub-resources; Chromium negotiates its own Accept-Encoding.
// - The status is the main document's (after redirects); a 4xx/5xx answer
//   fails the page as a fetched one does, with its rendered document.
// - The capture is the main document's exchange as Chromium saw it: its
//   request headers, status and reason phrase, response headers and body
//   (decoded). When Chromium no longer holds that body (the page navigated
//   on, or the answer was not kept), the rendered HTML is stored instead and
//   the response headers say so with `x-hookshot-capture: rendered-dom`.
// - Chromium that cannot start or dies is the worker's fault: the activity
//   fails and Temporal runs it again. A load that times out, is refused by the
//   guard or fails in the network is the page's (ERR::SCRAPE::TIMEOUT,
//   …ADDRESS_REFUSED, …NETWORK).
import type { Page, Response } from 'playwright-core';
import { BrowserUnavailableError, type PageRenderer } from '../capture/browser';
import { CaptureError, renderPage } from '../capture/screenshot';
import { buildPageDocument, failedPage, reasonPhrase, requestHeaders, type ScrapePageOptions, type ScrapePageResult } from './fetchPage';

const VIEWPORT = { width: 1920, height: 1080 };
/** Marks a capture whose body is the rendered DOM, not the bytes the server sent. */
export const RENDERED_CAPTURE_HEADER = 'x-hookshot-capture';

export interface RenderCrawlPageOptions extends ScrapePageOptions {
  /** How long to wait after the load event before reading the DOM. */
  renderingDelayMs: number;
}

const firstLine = (m: string) => (m.split('\n')[0] ?? '').slice(0, 300);

function isMainDocument(page: Page, r: Response): boolean {
  try {
    return r.request().isNavigationRequest() && r.frame() === page.mainFrame();
  } catch {
    return false; // service-worker answers have no frame
  }
}

/** Renders one page and builds its document; rejects only for the worker's faults or the caller's abort. */
export async function renderCrawlPage(url: string, opts: RenderCrawlPageOptions, deps: { browser: PageRenderer }): Promise<ScrapePageResult> {
  const headers = requestHeaders(opts);
  delete headers['accept-encoding'];
  const fetchedAt = new Date();
  const t0 = performance.now();
  try {
    return await deps.browser.withPage(
      { viewport: VIEWPORT, timeoutMs: opts.timeoutMs },
      async (page, seen) => {
        await page.setExtraHTTPHeaders(headers);
        const seenMain: { last: Response | null } = { last: null };
        page.on('response', (r) => {
          if (isMainDocument(page, r)) seenMain.last = r;
        });
        const rendered = await renderPage(page, seen, { url, renderingWait: opts.renderingDelayMs, timeoutMs: opts.timeoutMs }, () => page.content());
        const main = seenMain.last;
        const status = rendered.status ?? main?.status() ?? null;
        if (status === null) return failedPage(url, 'the page gave no answer', 'ERR::SCRAPE::NETWORK', rendered.finalUrl);
        const responseHeaders = main ? await main.allHeaders().catch(() => main.headers()) : {};
        const statusText = main?.statusText() || reasonPhrase(status);
        const html = Buffer.from(rendered.value, 'utf8');
        // The DOM is serialized as UTF-8 HTML whatever the server sent.
        const answer = {
          status,
          statusText,
          finalUrl: rendered.finalUrl,
          headers: responseHeaders,
          contentType: 'text/html; charset=utf-8',
          body: html,
        };
        const result = buildPageDocument(url, answer, opts);
        if (opts.capture) {
          const served = main ? await main.body().catch(() => null) : null;
          const sent = main
            ? await main
                .request()
                .allHeaders()
                .catch(() => headers)
            : headers;
          result.capture = {
            fetched_at: fetchedAt,
            duration_ms: Math.round(performance.now() - t0),
            url,
            final_url: rendered.finalUrl,
            request_headers: sent,
            status_code: status,
            status_text: statusText,
            response_headers: served ? responseHeaders : { ...responseHeaders, [RENDERED_CAPTURE_HEADER]: 'rendered-dom' },
            body: served ?? html,
          };
        }
        return result;
      },
      opts.signal,
    );
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof BrowserUnavailableError) throw err;
    const message = (err as Error)?.message ?? String(err);
    if (/has been closed|Target closed|browser has disconnected/i.test(message)) {
      throw new Error(`browser crashed while rendering the page: ${firstLine(message)}`, { cause: err });
    }
    if (err instanceof CaptureError) return failedPage(url, err.message, `ERR::SCRAPE::${err.code}`);
    return failedPage(url, `the page could not be rendered: ${firstLine(message)}`, 'ERR::SCRAPE::NETWORK');
  }
}
