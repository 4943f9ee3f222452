import { z } from 'zod';
import { createWebhookSchema, updateWebhookSchema } from '../webhooks/schema';

// Form fields arrive as strings (application/x-www-form-urlencoded).
export const LoginForm = z.object({
  key: z.string().trim().min(1, 'enter an API key').max(200),
  next: z.string().max(2000).optional(),
  _csrf: z.string().optional(),
});

type Form = Record<string, unknown>;
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
const optionalText = (v: unknown) => text(v) || undefined;

// The webhook forms are the REST API's schemas behind a mapping from form
// fields (strings, an unticked checkbox absent) to the API's shape, so the
// dashboard accepts exactly what POST/PATCH /webhooks accept.
export const CreateWebhookForm = (requireHttps: boolean) =>
  z.preprocess(
    (f: Form) => ({
      name: text(f.name) ?? '',
      url: text(f.url) ?? '',
      secret: optionalText(f.secret),
      content_type: optionalText(f.content_type),
      content_encoding: optionalText(f.content_encoding),
      standard_webhooks: f.standard_webhooks === 'on',
    }),
    createWebhookSchema(requireHttps),
  );

/** Edit: a blank secret keeps the current one; "remove the secret" clears it. */
export const EditWebhookForm = (requireHttps: boolean, name: string) =>
  z.preprocess(
    (f: Form) => ({
      name,
      url: text(f.url) ?? '',
      secret: f.clear_secret === 'on' ? null : optionalText(f.secret),
      content_type: optionalText(f.content_type),
      content_encoding: optionalText(f.content_encoding),
      standard_webhooks: f.standard_webhooks === 'on',
    }),
    updateWebhookSchema(requireHttps),
  );

export const NotificationsPage = z.object({ before: z.coerce.number().int().positive().optional() });
