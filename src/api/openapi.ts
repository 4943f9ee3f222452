import { z } from 'zod';
import type { Config } from '../config';
import { CreateKey, CreateProject, RevokeKey, UpdateProject } from './routes/admin/schema';
import { JobByUuid } from './routes/jobs/schema';
import { AccountQuery } from './routes/account/schema';
import { ListNotifications } from './routes/notifications/schema';
import { BatchBody, CancelById, CrawlBody, CrawlById, type CrawlRequestLimits } from './routes/firecrawl/schema';
import { CrawlerArtifactQuery, CrawlerBatchInput, CrawlerBody, CrawlerByUuid, CrawlerContentsQuery, CrawlerUrlsQuery } from './routes/crawler/schema';
import { DOCS_ASSETS } from './routes/docs/docs';
import { ScrapeParams, ScreenshotParams } from './routes/scrape/schema';
import { createWebhookSchema, ListDeliveries, ReplayWebhook, updateWebhookSchema, WebhookByName } from './routes/webhooks/schema';

type Auth = 'key' | 'admin' | 'none';

// Documentation only: the route looks the name up itself, so an unknown one is 404, not 400.
const DocsAsset = z.object({ asset: z.enum(DOCS_ASSETS) });

interface Op {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string; // Koa style, /webhooks/:name
  summary: string;
  tag: string;
  auth: Auth;
  input?: z.ZodType;
  /** Input fields sent as a JSON body (the rest: path and query). */
  body?: boolean;
  ok: { status: number; description: string };
  errors?: number[];
  /** Firecrawl-style routes: unknown body keys are ignored, and errors carry Firecrawl's fields too. */
  firecrawl?: boolean;
  /** An input field that is the whole request body in another media type (not a parameter). */
  bodyField?: string;
  /** Request body media types besides JSON, with their schemas. */
  requestMedia?: Record<string, unknown>;
}

const crawlStatusOk =
  '{success: true, status: scraping | completed | failed | cancelled, total, completed, creditsUsed, expiresAt, data: [document], next?}; next (absolute) only when more finished documents follow';

/** The Firecrawl-compatible crawl and batch scrape operations, the same under /v1 and /v2. */
function firecrawlOperations(config: CrawlRequestLimits): Op[] {
  return ([1, 2] as const).flatMap((n): Op[] => {
    const v = `v${n}` as const;
    const f = { tag: 'crawl', auth: 'key' as const, firecrawl: true };
    return [
      {
        ...f,
        method: 'post',
        path: `/${v}/crawl`,
        summary: `Start a crawl (Firecrawl ${v}); both versions' option names are accepted`,
        input: CrawlBody(config, n),
        body: true,
        ok: { status: 200, description: '{success: true, id, url} (url: the status URL)' },
        errors: [400, 401, 413, 415, 429, 503],
      },
      {
        ...f,
        method: 'get',
        path: `/${v}/crawl/:id`,
        summary: 'Crawl (or batch scrape) status and documents, paged with skip and limit',
        input: CrawlById,
        ok: { status: 200, description: crawlStatusOk },
        errors: [400, 401, 404],
      },
      {
        ...f,
        method: 'delete',
        path: `/${v}/crawl/:id`,
        summary: 'Cancel a crawl; an ended one answers with the status it ended with',
        input: CancelById,
        ok: { status: 200, description: '{success: true, status}: "cancelled" unless it had ended already' },
        errors: [401, 404, 503],
      },
      {
        ...f,
        method: 'post',
        path: `/${v}/batch/scrape`,
        summary: `Scrape a list of URLs (Firecrawl ${v}); scrape options at the top level or under scrapeOptions`,
        input: BatchBody(config, n),
        body: true,
        ok: { status: 200, description: '{success: true, id, url, invalidURLs}' },
        errors: [400, 401, 413, 415, 429, 503],
      },
      {
        ...f,
        method: 'get',
        path: `/${v}/batch/scrape/:id`,
        summary: 'Batch scrape status and documents, as the crawl status',
        input: CrawlById,
        ok: { status: 200, description: crawlStatusOk },
        errors: [400, 401, 404],
      },
      {
        ...f,
        method: 'delete',
        path: `/${v}/batch/scrape/:id`,
        summary: 'Cancel a batch scrape, as the crawl cancel',
        input: CancelById,
        ok: { status: 200, description: '{success: true, status}' },
        errors: [401, 404, 503],
      },
    ];
  });
}

/** Scrapfly's Crawler API (SPEC section 13), at the root as scrapfly-sdk calls it. */
function crawlerOperations(config: Pick<Config, 'crawl'>): Op[] {
  const c = { tag: 'crawler', auth: 'key' as const };
  return [
    {
      ...c,
      method: 'post',
      path: '/crawl',
      summary:
        'Start a crawler (Scrapfly Crawler API): JSON config, or multipart/form-data with a config part (JSON) and a urls part (one URL a line) for url_list',
      input: CrawlerBody(config),
      body: true,
      requestMedia: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: {
              config: { type: 'string', description: 'The config as JSON, without url_list' },
              urls: { type: 'string', description: 'The URLs to crawl, one a line (url_list)' },
            },
          },
        },
      },
      ok: { status: 201, description: '{crawler_uuid, uuid, status: "PENDING"}' },
      errors: [400, 401, 413, 415, 429, 503],
    },
    {
      ...c,
      method: 'get',
      path: '/crawl/:uuid/status',
      summary: 'Crawler status: PENDING, RUNNING, DONE or CANCELLED, with its counters',
      input: CrawlerByUuid,
      ok: {
        status: 200,
        description:
          '{crawler_uuid, status, is_finished, is_success, state: {urls_visited, urls_extracted, urls_failed, urls_skipped, urls_to_crawl, api_credit_used, duration, stop_reason, start_time, stop_time}}',
      },
      errors: [401, 404],
    },
    {
      ...c,
      method: 'get',
      path: '/crawl/:uuid/urls',
      summary: 'The crawler’s URLs with a status, paged: text/plain, one a line (url,reason for failed and skipped); empty past the last page',
      input: CrawlerUrlsQuery,
      ok: { status: 200, description: 'text/plain; charset=utf-8' },
      errors: [400, 401, 404],
    },
    {
      ...c,
      method: 'get',
      path: '/crawl/:uuid/contents',
      summary: 'Visited pages’ content: JSON {contents: {url: {format: string}}, links}, or with plain=true one URL’s content as is',
      input: CrawlerContentsQuery,
      ok: {
        status: 200,
        description:
          '{contents, links: {crawled_urls, next, prev}}; plain=true: the content with its format’s type (text/html, text/markdown, text/plain, application/json)',
      },
      errors: [400, 401, 404],
    },
    {
      ...c,
      method: 'post',
      path: '/crawl/:uuid/contents/batch',
      summary: 'Content of up to 100 URLs at once: multipart/related, a part per URL and format, Content-Location the URL as sent',
      input: CrawlerBatchInput,
      bodyField: 'urls',
      requestMedia: { 'text/plain': { schema: { type: 'string', description: 'The URLs, one a line (1 to 100)' } } },
      ok: { status: 200, description: 'multipart/related; boundary=…' },
      errors: [400, 401, 404, 413, 415],
    },
    {
      ...c,
      method: 'get',
      path: '/crawl/:uuid/artifact',
      summary: "An ended crawler's exchanges as fetched: WARC (gzip, a member per record) or Scrapfly's streaming HAR",
      input: CrawlerArtifactQuery,
      ok: { status: 200, description: 'type=warc: application/gzip (crawl.warc.gz); type=har: application/json, a JSON object a line (crawl.har)' },
      errors: [400, 401, 404, 409],
    },
    {
      ...c,
      method: 'post',
      path: '/crawl/:uuid/cancel',
      summary: 'Cancel a crawler; an ended one answers with how it ended (idempotent)',
      input: CrawlerByUuid,
      ok: { status: 200, description: '{crawler_uuid, status}' },
      errors: [401, 404, 503],
    },
  ];
}

/**
 * Every operation, described from the same zod schemas the routes validate
 * with, so the document cannot drift from what the API accepts. A test
 * checks that each registered route appears here.
 */
export function operations(config: Pick<Config, 'scrape' | 'webhook' | 'crawl'>): Op[] {
  const scrape = ScrapeParams(config.scrape.timeoutMs);
  const create = createWebhookSchema(config.webhook.requireHttps);
  const update = updateWebhookSchema(config.webhook.requireHttps);
  const scrapeOk = {
    status: 200,
    description:
      'With webhook_name: the promise {job_uuid, log_uuid, log_url, success, webhook_enqueued, webhook_name, webhook_queue_limit, webhook_queued_element, webhook_uuid}. Without: the scrape response {config, context, result, uuid}.',
  };
  return [
    {
      method: 'get',
      path: '/metrics',
      summary:
        'Prometheus metrics (text exposition format 0.0.4): deliveries, delivery durations, finished jobs, webhook queue depth, disables, Node process',
      tag: 'operations',
      auth: 'none',
      ok: { status: 200, description: 'text/plain; version=0.0.4' },
    },
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: 200 when the database answers, 503 ERR::DATABASE::UNAVAILABLE when it does not',
      tag: 'operations',
      auth: 'none',
      ok: { status: 200, description: '{status: "ok"}' },
      errors: [503],
    },
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This document',
      tag: 'operations',
      auth: 'none',
      ok: { status: 200, description: 'OpenAPI 3.1' },
    },
    {
      method: 'get',
      path: '/docs',
      summary: 'This document in Swagger UI (HTML)',
      tag: 'operations',
      auth: 'none',
      ok: { status: 200, description: 'HTML' },
    },
    {
      method: 'get',
      path: '/docs/:asset',
      summary: "Swagger UI's scripts, stylesheets and icons; any other name is 404",
      tag: 'operations',
      auth: 'none',
      input: DocsAsset,
      ok: { status: 200, description: 'The file' },
      errors: [404],
    },
    {
      method: 'get',
      path: '/scrape',
      summary: 'Scrape a URL; with webhook_name, enqueue and deliver to the webhook',
      tag: 'jobs',
      auth: 'key',
      input: scrape,
      ok: scrapeOk,
      errors: [400, 401, 404, 409, 414, 429, 503],
    },
    {
      method: 'post',
      path: '/scrape',
      summary: 'Same as GET /scrape; parameters may also come as a JSON body',
      tag: 'jobs',
      auth: 'key',
      input: scrape,
      body: true,
      ok: scrapeOk,
      errors: [400, 401, 404, 409, 413, 414, 415, 429, 503],
    },
    {
      method: 'get',
      path: '/screenshot',
      summary: 'Screenshot a URL in headless Chromium; with webhook_name, enqueue and deliver the image',
      tag: 'jobs',
      auth: 'key',
      input: ScreenshotParams(config.scrape.timeoutMs),
      ok: {
        status: 200,
        description: 'With webhook_name: the promise (as /scrape). Without: the image bytes (image/png, image/jpeg or image/webp).',
      },
      errors: [400, 401, 404, 409, 414, 422, 429, 502, 503],
    },
    {
      method: 'post',
      path: '/screenshot',
      summary: 'Same as GET /screenshot; parameters may also come as a JSON body',
      tag: 'jobs',
      auth: 'key',
      input: ScreenshotParams(config.scrape.timeoutMs),
      body: true,
      ok: { status: 200, description: 'As GET /screenshot' },
      errors: [400, 401, 404, 409, 413, 414, 415, 422, 429, 502, 503],
    },
    {
      method: 'get',
      path: '/account',
      summary: "The key's project and environment: plan, queue and concurrency use, and the secret that signs event webhooks",
      tag: 'account',
      auth: 'key',
      input: AccountQuery,
      ok: {
        status: 200,
        description: '{project, env, plan, webhook_queue_limit, webhook_queued, concurrency_limit, concurrency_in_use, event_signing_secret}',
      },
      errors: [400, 401],
    },
    {
      method: 'post',
      path: '/account/rotate-event-secret',
      summary: 'A new event signing secret; the old one stops signing at once',
      tag: 'account',
      auth: 'key',
      input: AccountQuery,
      ok: { status: 200, description: 'As GET /account, with the new secret' },
      errors: [400, 401],
    },
    {
      method: 'get',
      path: '/jobs/:uuid',
      summary: 'Job status, result metadata and every delivery attempt (the log_url)',
      tag: 'jobs',
      auth: 'key',
      input: JobByUuid,
      ok: { status: 200, description: 'The job' },
      errors: [400, 401, 404],
    },
    {
      method: 'post',
      path: '/jobs/:uuid/replay',
      summary: 'Deliver again as a new attempt series, same Job-Id (a signal to the job workflow)',
      tag: 'jobs',
      auth: 'key',
      input: JobByUuid,
      ok: { status: 202, description: '{job_uuid, replay_id, status}' },
      errors: [400, 401, 404, 409],
    },
    {
      method: 'get',
      path: '/notifications',
      summary: "Warnings (50 % and 90 % of the disable threshold) and auto-disable notices of the key's webhooks, newest first, cursor-paged",
      tag: 'webhooks',
      auth: 'key',
      input: ListNotifications,
      ok: {
        status: 200,
        description: '{notifications: [{kind: warning | disabled, webhook_name, consecutive_failed_count, message, created_at}], next_cursor}',
      },
      errors: [400, 401],
    },
    {
      method: 'post',
      path: '/webhooks',
      summary: 'Create a webhook; the answer shows its signing_secret',
      tag: 'webhooks',
      auth: 'key',
      input: create,
      body: true,
      ok: { status: 201, description: 'The webhook' },
      errors: [400, 401, 409, 413, 415],
    },
    {
      method: 'get',
      path: '/webhooks',
      summary: "List the key's webhooks",
      tag: 'webhooks',
      auth: 'key',
      ok: { status: 200, description: '{data: [webhook]}' },
      errors: [401],
    },
    {
      method: 'get',
      path: '/webhooks/:name',
      summary: 'Read a webhook',
      tag: 'webhooks',
      auth: 'key',
      input: WebhookByName,
      ok: { status: 200, description: 'The webhook' },
      errors: [400, 401, 404],
    },
    {
      method: 'patch',
      path: '/webhooks/:name',
      summary: 'Change url, secret (null clears it), content_type, content_encoding, standard_webhooks',
      tag: 'webhooks',
      auth: 'key',
      input: update,
      body: true,
      ok: { status: 200, description: 'The webhook' },
      errors: [400, 401, 404],
    },
    {
      method: 'delete',
      path: '/webhooks/:name',
      summary: 'Delete a webhook; refused (409) while deliveries are pending',
      tag: 'webhooks',
      auth: 'key',
      input: WebhookByName,
      ok: { status: 204, description: 'Deleted' },
      errors: [400, 401, 404, 409],
    },
    {
      method: 'post',
      path: '/webhooks/:name/enable',
      summary: 'Enable (resets the failure count), through the entity workflow',
      tag: 'webhooks',
      auth: 'key',
      input: WebhookByName,
      ok: { status: 200, description: 'The webhook' },
      errors: [400, 401, 404],
    },
    {
      method: 'post',
      path: '/webhooks/:name/disable',
      summary: 'Disable, through the entity workflow',
      tag: 'webhooks',
      auth: 'key',
      input: WebhookByName,
      ok: { status: 200, description: 'The webhook' },
      errors: [400, 401, 404],
    },
    {
      method: 'post',
      path: '/webhooks/:name/rotate-secret',
      summary: 'New signing secret; the old one stops signing at once',
      tag: 'webhooks',
      auth: 'key',
      input: WebhookByName,
      ok: { status: 200, description: 'The webhook with its new signing_secret' },
      errors: [400, 401, 404],
    },
    {
      method: 'get',
      path: '/webhooks/:name/deliveries',
      summary: 'Delivery attempts, newest first, cursor-paged, filter by status',
      tag: 'webhooks',
      auth: 'key',
      input: ListDeliveries,
      ok: { status: 200, description: '{data: [attempt], next_cursor}' },
      errors: [400, 401, 404],
    },
    {
      method: 'post',
      path: '/webhooks/:name/replay',
      summary: 'Replay every failed delivery (optionally created since a time)',
      tag: 'webhooks',
      auth: 'key',
      input: ReplayWebhook,
      body: true,
      ok: { status: 202, description: '{replay_id, webhook_name, failed_deliveries}' },
      errors: [400, 401, 404],
    },
    {
      method: 'post',
      path: '/admin/projects',
      summary: 'Create a project',
      tag: 'operator',
      auth: 'admin',
      input: CreateProject,
      body: true,
      ok: { status: 201, description: 'The project' },
      errors: [400, 401, 404, 409],
    },
    {
      method: 'patch',
      path: '/admin/projects/:name',
      summary: "Change a project's plan, alert URL or capture concurrency (applies at once)",
      tag: 'operator',
      auth: 'admin',
      input: UpdateProject,
      body: true,
      ok: { status: 200, description: 'The project' },
      errors: [400, 401, 404],
    },
    {
      method: 'post',
      path: '/admin/projects/:name/keys',
      summary: 'New API key for an environment, shown once',
      tag: 'operator',
      auth: 'admin',
      input: CreateKey,
      body: true,
      ok: { status: 201, description: '{key, prefix, project, env}' },
      errors: [400, 401, 404],
    },
    {
      method: 'delete',
      path: '/admin/keys/:prefix',
      summary: 'Revoke a key',
      tag: 'operator',
      auth: 'admin',
      input: RevokeKey,
      ok: { status: 204, description: 'Revoked' },
      errors: [401, 404],
    },
    ...firecrawlOperations(config),
    ...crawlerOperations(config),
  ];
}

const ErrorSchema = {
  type: 'object',
  required: ['code', 'message', 'http_code', 'retryable', 'error_id'],
  properties: {
    code: { type: 'string', example: 'ERR::VALIDATION::INVALID_PARAMETER' },
    message: { type: 'string' },
    http_code: { type: 'integer' },
    retryable: { type: 'boolean' },
    error_id: { type: 'string', format: 'uuid', description: 'Unique per error; quote it when reporting (it is in the log line).' },
  },
  additionalProperties: false,
};

// Under /v1 and /v2: the same fields, plus what the Firecrawl clients read.
const FirecrawlErrorSchema = {
  ...ErrorSchema,
  required: ['success', 'error', ...ErrorSchema.required],
  properties: {
    success: { type: 'boolean', const: false },
    error: { type: 'string', description: 'The message (what the Firecrawl clients show)' },
    ...ErrorSchema.properties,
  },
};

const pathParams = (path: string) => [...path.matchAll(/:([A-Za-z_]+)/g)].flatMap(([, name]) => (name === undefined ? [] : [name]));
export const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

function inputSchema(schema: z.ZodType) {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return { properties: js.properties ?? {}, required: new Set(js.required ?? []) };
}

export function buildOpenApi(config: Config) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations(config)) {
    const inPath = pathParams(op.path);
    const parameters: unknown[] = [];
    let requestBody: unknown;
    if (op.input) {
      const { properties, required } = inputSchema(op.input);
      const bodyProps: Record<string, unknown> = {};
      for (const [name, schema] of Object.entries(properties)) {
        if (name === op.bodyField) continue;
        if (inPath.includes(name)) {
          parameters.push({ name, in: 'path', required: true, schema });
        } else if (op.body) {
          bodyProps[name] = schema;
        } else {
          parameters.push({
            name,
            in: 'query',
            required: required.has(name),
            schema,
            ...(schema.description ? { description: schema.description } : {}),
          });
        }
      }
      if (op.body && Object.keys(bodyProps).length > 0) {
        requestBody = {
          required: false,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: bodyProps,
                required: [...required].filter((r) => !inPath.includes(r)),
                additionalProperties: !!op.firecrawl,
              },
            },
          },
        };
      }
    }
    if (op.requestMedia) {
      const content = (requestBody as { content?: Record<string, unknown> } | undefined)?.content ?? {};
      requestBody = { required: false, content: { ...content, ...op.requestMedia } };
    }
    if (op.path === '/scrape' || op.path === '/screenshot') {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', maxLength: 255 },
        description: 'A repeat within 24 h returns the first answer and starts nothing',
      });
    }
    const responses: Record<string, unknown> = { [op.ok.status]: { description: op.ok.description } };
    for (const e of op.errors ?? []) {
      const ref = op.firecrawl ? '#/components/schemas/FirecrawlError' : '#/components/schemas/Error';
      responses[e] = { description: 'Error', content: { 'application/json': { schema: { $ref: ref } } } };
    }
    const item = (paths[openApiPath(op.path)] ??= {});
    item[op.method] = {
      summary: op.summary,
      tags: [op.tag],
      operationId: `${op.method}${op.path.replace(/[/:-]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(op.auth === 'key'
        ? { security: [{ apiKeyQuery: [] }, { bearer: [] }] }
        : op.auth === 'admin'
          ? { security: [{ adminBearer: [] }] }
          : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookshot API',
      version: '0.1.0',
      description:
        'Scrape jobs delivered to your webhooks, durably, on Temporal. Deliveries are Scrapfly-compatible (headers, HMAC, body). Every error is {code, message, http_code, retryable, error_id}.',
    },
    servers: [{ url: config.publicUrl }],
    components: {
      schemas: { Error: ErrorSchema, FirecrawlError: FirecrawlErrorSchema },
      securitySchemes: {
        apiKeyQuery: { type: 'apiKey', in: 'query', name: 'key' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key' },
        adminBearer: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN (operator endpoints; off when unset)' },
      },
    },
    paths,
  };
}
