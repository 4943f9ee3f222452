import { z } from 'zod';
import { WEBHOOK_NAME } from '../webhooks/schema';

const boolish = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const renderingWait = z.coerce
  .number()
  .int()
  .min(0)
  .max(30_000, 'must be at most 30000 ms')
  .describe('Milliseconds to wait after the page loaded, before capturing');
const waitForSelector = z.string().min(1).max(500).describe('CSS selector to wait for (visible) before capturing');
const url = z.url({ protocol: /^https?$/, hostname: z.regexes.hostname, error: 'must be an absolute http(s) URL with a host' }).max(8192);
const webhookName = z
  .string()
  .regex(WEBHOOK_NAME, 'must be 1-64 letters, digits, _ or -')
  .optional()
  .describe('Deliver to this webhook (same project and environment); the call returns at once with a promise');
const timeout = (maxTimeoutMs: number) =>
  z.coerce
    .number()
    .int()
    .min(1000)
    .max(maxTimeoutMs, `must be at most ${maxTimeoutMs} ms`)
    .optional()
    .describe(`Milliseconds, 1000 to ${maxTimeoutMs}`);

export const ScrapeParams = (maxTimeoutMs: number) =>
  z
    .strictObject({
      url,
      webhook_name: webhookName,
      format: z.enum(['raw', 'text', 'markdown', 'json']).default('raw').describe('raw as fetched; text; markdown; json (parsed)'),
      render_js: boolish.default(false).describe('Render the page in headless Chromium; content after scripts ran'),
      rendering_wait: renderingWait.optional(),
      wait_for_selector: waitForSelector.optional(),
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).default('GET'),
      headers: z
        .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name'), z.string().max(8192))
        .optional()
        .describe('Request headers for the target; in a query string as headers[Name]=value'),
      body: z
        .string()
        .max(1024 * 1024)
        .optional()
        .describe('Request body for the target (with method POST, PUT or PATCH)'),
      timeout: timeout(maxTimeoutMs),
    })
    .superRefine((v, ctx) => {
      for (const f of ['rendering_wait', 'wait_for_selector'] as const) {
        if (v[f] !== undefined && !v.render_js) ctx.addIssue({ code: 'custom', path: [f], message: 'needs render_js=true' });
      }
      if (v.render_js && (v.method !== 'GET' || v.body !== undefined || v.headers !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['render_js'], message: 'renders with GET and no custom headers or body' });
      }
    });

export type ScrapeInput = z.infer<ReturnType<typeof ScrapeParams>>;

export const ScreenshotParams = (maxTimeoutMs: number) =>
  z.strictObject({
    url,
    webhook_name: webhookName,
    format: z.enum(['png', 'jpg', 'webp']).default('png'),
    capture: z.string().min(1).max(500).default('viewport').describe('viewport, fullpage, or a CSS selector of the element to capture'),
    resolution: z
      .string()
      .refine((r) => {
        const [, width, height]: (string | undefined)[] = /^(\d{1,5})x(\d{1,5})$/.exec(r) ?? [];
        return width !== undefined && height !== undefined && +width >= 100 && +width <= 7680 && +height >= 100 && +height <= 4320;
      }, 'must be WIDTHxHEIGHT with width 100-7680 and height 100-4320, e.g. 1920x1080')
      .default('1920x1080'),
    rendering_wait: renderingWait.default(0),
    wait_for_selector: waitForSelector.optional(),
    timeout: timeout(maxTimeoutMs),
  });

export type ScreenshotInput = z.infer<ReturnType<typeof ScreenshotParams>>;
