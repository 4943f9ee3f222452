import { createHmac } from 'node:crypto';
import type { CrawlWebhook } from '../shared/contracts/crawl';
import type { PreparedDelivery } from './send';

export const EVENT_USER_AGENT = 'Hookshot-Events/0.1';
export const SIGNATURE_HEADER = 'x-firecrawl-signature';

/** Firecrawl's scheme: `sha256=` and the lowercase hex HMAC-SHA256 of the exact body bytes. */
export function firecrawlSignature(body: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

// Headers the sender owns: a caller's header may not replace them (the API
// refuses them too; this keeps an old stored crawl from sending them).
const OWNED = new Set(['content-type', 'content-length', 'host', 'connection', 'transfer-encoding', SIGNATURE_HEADER]);

/**
 * prepare + sign for an inline (Firecrawl-style) webhook: the event's stored
 * bytes as they are (every retry sends the same), the caller's headers, and
 * the signature when the project environment has an event secret.
 */
export function prepareFirecrawlEvent(webhook: CrawlWebhook, body: Buffer, secret: string | null): PreparedDelivery {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(webhook.headers ?? {})) {
    if (!OWNED.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  headers['content-type'] = 'application/json';
  headers['user-agent'] = headers['user-agent'] ?? EVENT_USER_AGENT;
  if (secret) headers[SIGNATURE_HEADER] = firecrawlSignature(body, secret);
  // The caller's headers often carry a bearer token: kept out of the attempt log.
  return {
    url: webhook.url,
    headers,
    body,
    secretHeaders: ['authorization', ...Object.keys(headers).filter((h) => /token|secret|key|auth/i.test(h))],
  };
}
