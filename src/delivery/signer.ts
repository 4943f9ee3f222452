import { createHmac } from 'node:crypto';

/**
 * Scrapfly's scheme: HMAC-SHA256 keyed with the webhook's signing secret (its
 * UTF-8 bytes, as shown to the user) over the serialized body before any
 * compression. Receivers compare either header, so both cases are sent.
 */
export function scrapflySignature(body: Buffer, signingSecret: string): { upper: string; lower: string } {
  const lower = createHmac('sha256', signingSecret).update(body).digest('hex');
  return { upper: lower.toUpperCase(), lower };
}

/**
 * Standard Webhooks (webhook-signature: v1,<base64>): HMAC-SHA256 over
 * "<id>.<timestamp>.<body>", keyed with the base64 part of whsec_<base64>.
 */
export function standardWebhooksSignature(id: string, timestampSeconds: number, body: Buffer, signingSecret: string): string {
  const key = Buffer.from(signingSecret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}
