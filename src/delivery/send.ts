import type { Dispatcher } from 'undici';
import type { Attempt } from '../db/rows';
import type { DeliveryAttemptOutcome } from '../shared/contracts/job';
import { AddressRefusedError, RedirectError, RequestTimeoutError, request } from '../net/httpClient';
import { parseRetryAfter } from '../shared/retrySchedule';

const SNIPPET_BYTES = 4096;

/** What any producer of a delivery hands to the sender: the exact request a receiver gets. */
export interface PreparedDelivery {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Header names whose values are secrets: kept out of the attempt log. */
  secretHeaders?: readonly string[];
}

export interface SendOptions {
  http: Dispatcher;
  timeoutMs: number;
  requireHttps: boolean;
  startedAt: Date;
}

/** The attempt row's fields that the send decides (the producer adds whose attempt it was). */
export type SentAttempt = Pick<
  Attempt,
  | 'started_at'
  | 'duration_ms'
  | 'url'
  | 'final_url'
  | 'success'
  | 'status_code'
  | 'error_code'
  | 'error_message'
  | 'request_headers'
  | 'response_headers'
  | 'response_snippet'
>;

const redact = (h: Record<string, string>, secret: readonly string[] = []) => {
  const out = { ...h };
  for (const name of secret) if (name in out) out[name] = '[redacted]';
  return out;
};

/**
 * send: one POST through the address-guarded client (redirects re-checked on
 * every hop), whatever produced it. 2xx is a success; any other answer, a
 * refusal, a connection error or no answer in time is a failure.
 */
export async function sendDelivery(
  d: PreparedDelivery,
  o: SendOptions,
): Promise<{ outcome: Omit<DeliveryAttemptOutcome, 'stop'>; sent: SentAttempt }> {
  const base = { started_at: o.startedAt, url: d.url, request_headers: redact(d.headers, d.secretHeaders) };
  const t0 = performance.now();
  const fail = (errorCode: string, message: string) => ({
    outcome: { success: false, statusCode: null, errorCode, retryAfterMs: null },
    sent: {
      ...base,
      duration_ms: Math.round(performance.now() - t0),
      final_url: null,
      success: false,
      status_code: null,
      error_code: errorCode,
      error_message: message,
      response_headers: null,
      response_snippet: null,
    },
  });

  if (o.requireHttps && !d.url.startsWith('https:')) {
    return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', 'webhook URL must use https');
  }
  try {
    const res = await request(o.http, {
      url: d.url,
      method: 'POST',
      headers: d.headers,
      body: d.body,
      timeoutMs: o.timeoutMs,
      maxRedirects: 5,
      maxBodyBytes: SNIPPET_BYTES,
    });
    const success = res.status >= 200 && res.status < 300;
    const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after'], Date.now()) : null;
    const errorCode = success ? null : 'ERR::WEBHOOK::ENDPOINT_ERROR';
    return {
      outcome: { success, statusCode: res.status, errorCode, retryAfterMs },
      sent: {
        ...base,
        duration_ms: Math.round(performance.now() - t0),
        final_url: res.finalUrl,
        success,
        status_code: res.status,
        error_code: errorCode,
        error_message: success ? null : `endpoint answered HTTP ${res.status}`,
        response_headers: res.headers,
        response_snippet: res.body.subarray(0, SNIPPET_BYTES).toString('utf8'),
      },
    };
  } catch (err) {
    if (err instanceof AddressRefusedError) return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', `refused by the address guard: ${err.reason}`);
    if (err instanceof RequestTimeoutError) return fail('ERR::WEBHOOK::TIMEOUT', `no answer within ${o.timeoutMs} ms`);
    if (err instanceof RedirectError) return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', err.message);
    const e = err as NodeJS.ErrnoException;
    return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', `${e.code ?? 'error'}: ${e.message}`);
  }
}
