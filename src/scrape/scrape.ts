import type { Dispatcher } from 'undici';
import type { Job, JobResult } from '../db/repositories/jobs';
import { AddressRefusedError, RedirectError, RequestTimeoutError, request } from '../delivery/httpClient';

export interface ScrapeDeps {
  http: Dispatcher;
  timeoutMs: number;
  maxBytes: number;
}

export interface ScrapeOutcome {
  result: Omit<JobResult, 'created_at'> | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/**
 * Fetches the target through the address-guarded client. Upstream 4xx/5xx are
 * results (the caller decides what they mean); network failures, refusals
 * and timeouts are ERR::SCRAPE::* codes.
 */
export async function runScrape(job: Job, deps: ScrapeDeps): Promise<ScrapeOutcome> {
  const p = job.params as { url: string; method?: string; headers?: Record<string, string>; body?: string; timeout?: number; format?: string };
  const timeoutMs = Math.min(p.timeout ?? deps.timeoutMs, deps.timeoutMs);
  const t0 = performance.now();
  try {
    const res = await request(deps.http, {
      url: p.url,
      method: p.method ?? 'GET',
      headers: { 'user-agent': 'Hookshot/0.1', ...(p.headers ?? {}) },
      body: p.body !== undefined ? Buffer.from(p.body) : undefined,
      timeoutMs,
      maxRedirects: 5,
      maxBodyBytes: deps.maxBytes,
    });
    if (res.truncated) {
      return fail('ERR::SCRAPE::TOO_LARGE', `response is larger than ${deps.maxBytes} bytes`);
    }
    const contentType = res.headers['content-type'] ?? null;
    return {
      result: {
        job_id: job.id,
        status_code: res.status,
        final_url: res.finalUrl,
        headers: res.headers,
        format: p.format ?? 'raw',
        content_type: contentType,
        content: res.body.toString('utf8'),
        body: null,
        size_bytes: res.body.length,
        duration_ms: Math.round(performance.now() - t0),
      },
      errorCode: null,
      errorMessage: null,
    };
  } catch (err) {
    if (err instanceof AddressRefusedError) return fail('ERR::SCRAPE::ADDRESS_REFUSED', `refused by the address guard: ${err.reason}`);
    if (err instanceof RequestTimeoutError) return fail('ERR::SCRAPE::TIMEOUT', `no answer within ${timeoutMs} ms`);
    if (err instanceof RedirectError) return fail('ERR::SCRAPE::REDIRECT', err.message);
    const e = err as NodeJS.ErrnoException;
    return fail('ERR::SCRAPE::NETWORK', `${e.code ?? 'error'}: ${e.message}`);
  }
}

function fail(errorCode: string, errorMessage: string): ScrapeOutcome {
  return { result: null, errorCode, errorMessage };
}
