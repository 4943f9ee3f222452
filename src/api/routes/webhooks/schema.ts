import { z } from 'zod';
import { CONTENT_ENCODINGS, CONTENT_TYPES } from '../../../db/repositories/webhooks';

export const WEBHOOK_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const webhookUrl = (requireHttps: boolean) =>
  z
    .url({
      protocol: requireHttps ? /^https$/ : /^https?$/,
      hostname: z.regexes.hostname,
      error: requireHttps ? 'must be an absolute https:// URL (WEBHOOK_REQUIRE_HTTPS is on)' : 'must be an absolute http(s) URL with a host',
    })
    .max(2048);

export const createWebhookSchema = (requireHttps: boolean) =>
  z.strictObject({
    name: z.string().regex(WEBHOOK_NAME, 'must be 1-64 letters, digits, _ or -'),
    url: webhookUrl(requireHttps),
    secret: z.string().min(1).max(256).optional(),
    content_type: z.enum(CONTENT_TYPES).optional(),
    content_encoding: z.enum(CONTENT_ENCODINGS).optional(),
    standard_webhooks: z.boolean().optional(),
  });

export const WebhookByName = z.strictObject({ name: z.string().regex(WEBHOOK_NAME, 'must be 1-64 letters, digits, _ or -') });

export const ReplayWebhook = z.strictObject({
  name: z.string().regex(WEBHOOK_NAME, 'must be 1-64 letters, digits, _ or -'),
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z' }).optional(),
});
