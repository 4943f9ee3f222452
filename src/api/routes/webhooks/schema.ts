import { z } from 'zod';
import { CONTENT_ENCODINGS, CONTENT_TYPES } from '../../../db/rows';

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

const nameParam = z.string().regex(WEBHOOK_NAME, 'must be 1-64 letters, digits, _ or -');

export const WebhookByName = z.strictObject({ name: nameParam });

export const updateWebhookSchema = (requireHttps: boolean) =>
  z
    .strictObject({
      name: nameParam,
      url: webhookUrl(requireHttps).optional(),
      // null clears the secret (no X-Scrapfly-Webhook-Secret header any more).
      secret: z.string().min(1).max(256).nullable().optional(),
      content_type: z.enum(CONTENT_TYPES).optional(),
      content_encoding: z.enum(CONTENT_ENCODINGS).optional(),
      standard_webhooks: z.boolean().optional(),
    })
    .refine((v) => Object.keys(v).some((k) => k !== 'name'), {
      message: 'nothing to change: give at least one of url, secret, content_type, content_encoding, standard_webhooks (a webhook cannot be renamed)',
    });

export const ListDeliveries = z.strictObject({
  name: nameParam,
  status: z.enum(['success', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.coerce.number().int().positive({ error: 'must be the next_cursor of a previous page' }).optional(),
});

export const ReplayWebhook = z.strictObject({
  name: nameParam,
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z' }).optional(),
});
