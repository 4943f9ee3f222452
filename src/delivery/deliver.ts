import type { Dispatcher } from 'undici';
import type { Attempt, Job, JobResult } from '../db/repositories/jobs';
import type { Webhook } from '../db/repositories/webhooks';
import type { DeliveryAttemptOutcome } from '../shared/jobTypes';
import { AddressRefusedError, RedirectError, RequestTimeoutError, request } from '../net/httpClient';
import { buildScrapeResponse, compress, logUrl, serialize } from './payload';
import { parseRetryAfter } from '../shared/retrySchedule';
import { scrapflySignature, standardWebhooksSignature } from './signer';

export const USER_AGENT = 'Hookshot-Webhook/0.1';
const SNIPPET_BYTES = 4096;

export interface DeliverParams {
  job: Job;
  result: JobResult | null;
  webhook: Webhook;
  projectName: string;
  publicUrl: string;
  http: Dispatcher;
  timeoutMs: number;
  requireHttps: boolean;
  now?: () => Date;
}

export interface PreparedDelivery {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** prepare + sign: the exact bytes and headers a receiver gets. */
export function prepareDelivery(p: DeliverParams, timestamp: Date): PreparedDelivery {
  const { job, webhook } = p;
  let serialized: Buffer;
  // A screenshot is its image bytes; a failed one (no image) is the JSON
  // document with result.error, so the receiver learns what went wrong.
  const image = job.kind === 'screenshot' && p.result?.body ? p.result.body : null;
  if (image) {
    serialized = image;
  } else {
    const doc = buildScrapeResponse(job, p.result, { publicUrl: p.publicUrl, projectName: p.projectName }, webhook);
    serialized = serialize(doc, webhook.content_type);
  }
  // Signed before compression: receivers verify what they decompress.
  const sig = scrapflySignature(serialized, webhook.signing_secret);
  const body = compress(serialized, webhook.content_encoding);
  const headers: Record<string, string> = {
    'content-type': image ? (p.result?.content_type ?? 'application/octet-stream') : webhook.content_type,
    'user-agent': USER_AGENT,
    'x-scrapfly-webhook-env': job.env,
    'x-scrapfly-webhook-project': p.projectName,
    'x-scrapfly-webhook-name': webhook.name,
    'x-scrapfly-webhook-signature': sig.upper,
    'x-scrapfly-webhook-signature-lowercase': sig.lower,
    'x-scrapfly-webhook-resource-type': job.kind,
    'x-scrapfly-webhook-job-id': job.id,
    'x-scrapfly-log-uuid': job.id,
    'x-scrapfly-log-url': logUrl(p.publicUrl, job.id),
  };
  if (webhook.content_encoding !== 'identity') headers['content-encoding'] = webhook.content_encoding;
  if (webhook.secret) headers['x-scrapfly-webhook-secret'] = webhook.secret;
  if (webhook.standard_webhooks) {
    const ts = Math.floor(timestamp.getTime() / 1000);
    headers['webhook-id'] = `msg_${job.id}`;
    headers['webhook-timestamp'] = String(ts);
    headers['webhook-signature'] = standardWebhooksSignature(`msg_${job.id}`, ts, serialized, webhook.signing_secret);
  }
  return { url: webhook.url, headers, body };
}

const redact = (h: Record<string, string>) =>
  'x-scrapfly-webhook-secret' in h ? { ...h, 'x-scrapfly-webhook-secret': '[redacted]' } : h;

/** send: one HTTP request; the result is the attempt row and a small outcome. */
export async function deliverOnce(
  p: DeliverParams,
): Promise<{ outcome: Omit<DeliveryAttemptOutcome, 'stop'>; record: Omit<Attempt, 'id' | 'series' | 'attempt'> }> {
  const startedAt = (p.now ?? (() => new Date()))();
  const prepared = prepareDelivery(p, startedAt);
  const base = {
    job_id: p.job.id,
    webhook_id: p.webhook.id,
    started_at: startedAt,
    url: prepared.url,
    request_headers: redact(prepared.headers),
  };
  const t0 = performance.now();
  const fail = (errorCode: string, message: string, extra: Partial<Attempt> = {}) => ({
    outcome: { success: false, statusCode: extra.status_code ?? null, errorCode, retryAfterMs: null },
    record: {
      ...base,
      duration_ms: Math.round(performance.now() - t0),
      final_url: null,
      success: false,
      status_code: null,
      error_code: errorCode,
      error_message: message,
      response_headers: null,
      response_snippet: null,
      ...extra,
    },
  });

  if (p.requireHttps && !prepared.url.startsWith('https:')) {
    return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', 'webhook URL must use https (WEBHOOK_REQUIRE_HTTPS)');
  }
  try {
    const res = await request(p.http, {
      url: prepared.url,
      method: 'POST',
      headers: prepared.headers,
      body: prepared.body,
      timeoutMs: p.timeoutMs,
      maxRedirects: 5,
      maxBodyBytes: SNIPPET_BYTES,
    });
    const success = res.status >= 200 && res.status < 300;
    const retryAfterMs =
      res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after'], Date.now()) : null;
    const errorCode = success ? null : 'ERR::WEBHOOK::ENDPOINT_ERROR';
    return {
      outcome: { success, statusCode: res.status, errorCode, retryAfterMs },
      record: {
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
    if (err instanceof AddressRefusedError) {
      return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', `refused by the address guard: ${err.reason}`);
    }
    if (err instanceof RequestTimeoutError) {
      return fail('ERR::WEBHOOK::TIMEOUT', `no answer within ${p.timeoutMs} ms`);
    }
    if (err instanceof RedirectError) {
      return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', err.message);
    }
    const e = err as NodeJS.ErrnoException;
    return fail('ERR::WEBHOOK::ENDPOINT_UNREACHABLE', `${e.code ?? 'error'}: ${e.message}`);
  }
}
