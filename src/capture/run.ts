import type { Dispatcher } from 'undici';
import type { Job, JobResult } from '../db/rows';
import { AddressRefusedError, RedirectError, RequestTimeoutError, request } from '../net/httpClient';
import { convertContent } from '../content/convert';
import { BrowserUnavailableError, type PageRenderer } from './browser';
import { CaptureError, IMAGE_CONTENT_TYPES, renderPage, takeScreenshot, type ImageFormat } from './screenshot';

export interface CaptureDeps {
  http: Dispatcher;
  browser: PageRenderer;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

export interface CaptureOutcome {
  result: Omit<JobResult, 'created_at'> | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface ScrapeJobParams {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout?: number;
  format?: 'raw' | 'text' | 'markdown' | 'json';
  render_js?: boolean;
  rendering_wait?: number;
  wait_for_selector?: string;
}

export interface ScreenshotJobParams {
  url: string;
  format?: ImageFormat;
  capture?: string;
  resolution?: string;
  rendering_wait?: number;
  wait_for_selector?: string;
  timeout?: number;
}

const DEFAULT_VIEWPORT = { width: 1920, height: 1080 };
const parseResolution = (r: string | undefined) => {
  const m = /^(\d+)x(\d+)$/.exec(r ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : DEFAULT_VIEWPORT;
};

/**
 * Runs the job's capture: an HTTP scrape, a scrape rendered in Chromium
 * (render_js), or a screenshot. Upstream 4xx/5xx are results; network
 * failures, refusals, timeouts and caps are ERR::SCRAPE::* / ERR::SCREENSHOT::*.
 */
export async function runCapture(job: Job, deps: CaptureDeps): Promise<CaptureOutcome> {
  const area = job.kind === 'screenshot' ? 'SCREENSHOT' : 'SCRAPE';
  const fail = (name: string, message: string): CaptureOutcome => ({ result: null, errorCode: `ERR::${area}::${name}`, errorMessage: message });
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  try {
    if (job.kind === 'screenshot') {
      const p = job.params as unknown as ScreenshotJobParams;
      const timeoutMs = Math.min(p.timeout ?? deps.timeoutMs, deps.timeoutMs);
      const format = p.format ?? 'png';
      const viewport = parseResolution(p.resolution);
      return await deps.browser.withPage(
        { viewport, timeoutMs },
        async (page, seen) => {
          const render = { url: p.url, waitForSelector: p.wait_for_selector, renderingWait: p.rendering_wait ?? 0, timeoutMs };
          const { value: image, ...loaded } = await renderPage(page, seen, render, () =>
            takeScreenshot(page, {
              url: p.url,
              format,
              capture: p.capture ?? 'viewport',
              resolution: viewport,
              rendering_wait: p.rendering_wait ?? 0,
              wait_for_selector: p.wait_for_selector,
            }),
          );
          if (image.length > deps.maxBytes) return fail('TOO_LARGE', `screenshot is ${image.length} bytes, over the ${deps.maxBytes} byte cap`);
          return {
            result: {
              job_id: job.id,
              status_code: loaded.status,
              final_url: loaded.finalUrl,
              headers: {},
              format,
              content_type: IMAGE_CONTENT_TYPES[format],
              content: null,
              body: image,
              size_bytes: image.length,
              duration_ms: elapsed(),
            },
            errorCode: null,
            errorMessage: null,
          };
        },
        deps.signal,
      );
    }

    const p = job.params as unknown as ScrapeJobParams;
    const timeoutMs = Math.min(p.timeout ?? deps.timeoutMs, deps.timeoutMs);
    const format = p.format ?? 'raw';
    let status: number | null;
    let finalUrl: string;
    let headers: Record<string, string>;
    let body: Buffer;
    let contentType: string | null;
    if (p.render_js) {
      const rendered = await deps.browser.withPage(
        { viewport: DEFAULT_VIEWPORT, timeoutMs },
        async (page, seen) => {
          const render = { url: p.url, waitForSelector: p.wait_for_selector, renderingWait: p.rendering_wait ?? 0, timeoutMs };
          const { value: html, ...loaded } = await renderPage(page, seen, render, () => page.content());
          return { ...loaded, html };
        },
        deps.signal,
      );
      status = rendered.status;
      finalUrl = rendered.finalUrl;
      headers = {};
      body = Buffer.from(rendered.html, 'utf8');
      contentType = 'text/html; charset=utf-8';
    } else {
      const res = await request(deps.http, {
        url: p.url,
        method: p.method ?? 'GET',
        headers: { 'user-agent': 'Hookshot/0.1', ...(p.headers ?? {}) },
        body: p.body !== undefined ? Buffer.from(p.body) : undefined,
        timeoutMs,
        maxRedirects: 5,
        maxBodyBytes: deps.maxBytes,
      });
      if (res.truncated) return fail('TOO_LARGE', `response is larger than the ${deps.maxBytes} byte cap`);
      status = res.status;
      finalUrl = res.finalUrl;
      headers = res.headers;
      body = res.body;
      contentType = res.headers['content-type'] ?? null;
    }
    const converted = convertContent(format, body, contentType, finalUrl);
    return {
      result: {
        job_id: job.id,
        status_code: status,
        final_url: finalUrl,
        headers,
        format,
        content_type: contentType,
        content: converted.content,
        body: null,
        size_bytes: body.length,
        duration_ms: elapsed(),
      },
      errorCode: converted.error?.code ?? null,
      errorMessage: converted.error?.message ?? null,
    };
  } catch (err) {
    // A browser that died is the worker's fault, not the page's: fail the
    // activity so Temporal runs it again on a freshly launched browser.
    if (err instanceof BrowserUnavailableError) throw err;
    if (/has been closed|Target closed|browser has disconnected/i.test((err as Error).message ?? '')) {
      throw new Error(`browser crashed during the capture: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    if (err instanceof CaptureError) return fail(err.code, err.message);
    if (err instanceof AddressRefusedError) return fail('ADDRESS_REFUSED', `refused by the address guard: ${err.reason}`);
    if (err instanceof RequestTimeoutError) return fail('TIMEOUT', `no answer within the timeout`);
    if (err instanceof RedirectError) return fail('REDIRECT', err.message);
    const e = err as NodeJS.ErrnoException;
    return fail('NETWORK', `${e.code ?? 'error'}: ${e.message}`);
  }
}
