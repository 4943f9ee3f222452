import type { Dispatcher } from 'undici';
import type { Attempt, Job, JobResult, SentPayload, Webhook } from '../db/rows';
import type { DeliveryAttemptOutcome } from '../shared/contracts/job';
import { buildScrapeResponse, compress, logUrl, serialize } from './payload';
import { scrapflySignature, standardWebhooksSignature } from './signer';
import { sendDelivery, type PreparedDelivery } from './send';

export type { PreparedDelivery } from './send';

export const USER_AGENT = 'Hookshot-Webhook/0.1';

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
  return signForWebhook(webhook, serialized, {
    contentType: image ? (p.result?.content_type ?? 'application/octet-stream') : webhook.content_type,
    env: job.env,
    projectName: p.projectName,
    resourceType: job.kind,
    jobId: job.id,
    logUrl: logUrl(p.publicUrl, job.id),
    timestamp,
  });
}

export interface SignMeta {
  contentType: string;
  env: string;
  projectName: string;
  resourceType: string;
  /** The receiver's dedup key (X-Scrapfly-Webhook-Job-Id; webhook-id too unless messageId is given). */
  jobId: string;
  /**
   * Standard Webhooks' webhook-id when it is not `msg_<jobId>`: a crawler's
   * events share the crawler's job id, and each needs its own message id.
   */
  messageId?: string;
  /** Null when there is no job log to point at (a dashboard test delivery). */
  logUrl: string | null;
  timestamp: Date;
}

/**
 * Signs serialized bytes for a webhook and builds the headers every delivery
 * carries; shared by job deliveries and the dashboard's test delivery so a
 * receiver's verification code sees one scheme.
 */
export function signForWebhook(webhook: Webhook, serialized: Buffer, m: SignMeta): PreparedDelivery {
  // Signed before compression: receivers verify what they decompress.
  const sig = scrapflySignature(serialized, webhook.signing_secret);
  const body = compress(serialized, webhook.content_encoding);
  const headers: Record<string, string> = {
    'content-type': m.contentType,
    'user-agent': USER_AGENT,
    'x-scrapfly-webhook-env': m.env,
    'x-scrapfly-webhook-project': m.projectName,
    'x-scrapfly-webhook-name': webhook.name,
    'x-scrapfly-webhook-signature': sig.upper,
    'x-scrapfly-webhook-signature-lowercase': sig.lower,
    'x-scrapfly-webhook-resource-type': m.resourceType,
    'x-scrapfly-webhook-job-id': m.jobId,
  };
  if (m.logUrl) {
    headers['x-scrapfly-log-uuid'] = m.jobId;
    headers['x-scrapfly-log-url'] = m.logUrl;
  }
  if (webhook.content_encoding !== 'identity') headers['content-encoding'] = webhook.content_encoding;
  if (webhook.secret) headers['x-scrapfly-webhook-secret'] = webhook.secret;
  if (webhook.standard_webhooks) {
    const ts = Math.floor(m.timestamp.getTime() / 1000);
    const id = m.messageId ?? `msg_${m.jobId}`;
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(ts);
    headers['webhook-signature'] = standardWebhooksSignature(id, ts, serialized, webhook.signing_secret);
  }
  return { url: webhook.url, headers, body, secretHeaders: ['x-scrapfly-webhook-secret'] };
}

export interface CrawlerEventMeta {
  /** The stored event: its id (the message id), its name, its exact body bytes (JSON). */
  event: { id: string; event: string; body: Buffer };
  crawl: { id: string; env: string };
  projectName: string;
  /** X-Scrapfly-Webhook-Resource-Type: `crawler` by default (CRAWLER_WEBHOOK_RESOURCE_TYPE). */
  resourceType: string;
  timestamp: Date;
}

/**
 * prepare + sign for a Scrapfly crawler event on its named webhook: the
 * event's stored bytes, signed and compressed as a job's delivery is, with
 * the crawler's uuid as the job id, the event's name in
 * X-Scrapfly-Crawl-Event-Name, and no log headers (there is no job log).
 *
 * Always JSON, whatever the webhook's content type: Scrapfly sends crawler
 * events as JSON, the SDK's parseCrawlerWebhook takes JSON, and the bytes
 * were fixed when the event was emitted so every retry sends (and signs) the same.
 */
export function prepareCrawlerEvent(webhook: Webhook, m: CrawlerEventMeta): PreparedDelivery {
  const prepared = signForWebhook(webhook, m.event.body, {
    contentType: 'application/json',
    env: m.crawl.env,
    projectName: m.projectName,
    resourceType: m.resourceType,
    jobId: m.crawl.id,
    messageId: `msg_${m.event.id}`,
    logUrl: null,
    timestamp: m.timestamp,
  });
  prepared.headers['x-scrapfly-crawl-event-name'] = m.event.event;
  return prepared;
}

/**
 * A Scrapfly-style delivery of a job to its named webhook: prepare and sign
 * (above), then the shared sender. Returns the attempt row, the outcome and
 * the payload exactly as it went on the wire (compressed when the webhook
 * compresses: that is what the receiver got, and what the dashboard shows,
 * decompressed for reading).
 */
export async function deliverOnce(
  p: DeliverParams,
): Promise<{ outcome: Omit<DeliveryAttemptOutcome, 'stop'>; record: Omit<Attempt, 'id' | 'series' | 'attempt'>; payload: SentPayload }> {
  const startedAt = (p.now ?? (() => new Date()))();
  const prepared = prepareDelivery(p, startedAt);
  const { outcome, sent } = await sendDelivery(prepared, {
    http: p.http,
    timeoutMs: p.timeoutMs,
    requireHttps: p.requireHttps,
    startedAt,
  });
  const payload: SentPayload = {
    content_type: prepared.headers['content-type'] ?? 'application/octet-stream',
    content_encoding: prepared.headers['content-encoding'] ?? 'identity',
    body: prepared.body,
  };
  return { outcome, record: { ...sent, job_id: p.job.id, webhook_id: p.webhook.id }, payload };
}
