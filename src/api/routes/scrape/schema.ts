import { z } from 'zod';
import { WEBHOOK_NAME } from '../webhooks/schema';

const boolish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const ScrapeParams = (maxTimeoutMs: number) =>
  z.strictObject({
    url: z.url({ protocol: /^https?$/, hostname: z.regexes.hostname, error: 'must be an absolute http(s) URL with a host' }).max(8192),
    webhook_name: z
      .string()
      .regex(WEBHOOK_NAME, 'must be 1-64 letters, digits, _ or -')
      .optional()
      .describe('Deliver to this webhook (same project and environment); the call returns at once with a promise'),
    // Only what this version implements; text/markdown/json and render_js arrive with the capture work.
    format: z.enum(['raw'], { error: 'must be "raw" (the only format this version implements)' }).default('raw'),
    render_js: boolish
      .refine((v) => v === false, 'JavaScript rendering is not available in this version')
      .optional()
      .describe('false only in this version'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).default('GET'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name'), z.string().max(8192))
      .optional()
      .describe('Request headers for the target; in a query string as headers[Name]=value'),
    body: z.string().max(1024 * 1024).optional().describe('Request body for the target (with method POST, PUT or PATCH)'),
    timeout: z.coerce
      .number()
      .int()
      .min(1000)
      .max(maxTimeoutMs, `must be at most ${maxTimeoutMs} ms`)
      .optional()
      .describe(`Milliseconds, 1000 to ${maxTimeoutMs}`),
  });

export type ScrapeInput = z.infer<ReturnType<typeof ScrapeParams>>;
