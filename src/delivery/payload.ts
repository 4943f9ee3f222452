import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import type { Job, JobResult, Webhook } from '../db/rows';
import { errorInfo } from '../errors';

export interface ScrapeResponseContext {
  publicUrl: string;
  projectName: string;
}

export const logUrl = (publicUrl: string, jobId: string) => `${publicUrl}/jobs/${jobId}`;

/**
 * The scrape response, `{config, context, result, uuid}`: the same document
 * the synchronous call returns; a delivery adds context.webhook.
 */
export function buildScrapeResponse(
  job: Job,
  result: JobResult | null,
  ctx: ScrapeResponseContext,
  webhook?: Pick<Webhook, 'name' | 'secret' | 'consecutive_failed_count'>,
) {
  const p = job.params as Record<string, unknown>;
  const captured = job.error_code === null && result !== null;
  // As Scrapfly reads a target that answered 4xx/5xx: the page is kept, but
  // the scrape is not a success (its SDK raises the upstream errors on it).
  const upstreamStatus = captured && job.kind === 'scrape' && result.status_code !== null && result.status_code >= 400 ? result.status_code : null;
  const success = captured && upstreamStatus === null;
  return {
    config: {
      url: p.url,
      method: p.method ?? 'GET',
      format: p.format ?? 'raw',
      render_js: p.render_js ?? false,
      headers: p.headers ?? {},
      body: p.body ?? null,
      timeout: p.timeout ?? null,
      webhook_name: job.webhook_name,
      env: job.env,
      project: ctx.projectName,
    },
    context: {
      env: job.env,
      project: ctx.projectName,
      job_uuid: job.id,
      created_at: job.created_at.toISOString(),
      ...(webhook
        ? {
            webhook: {
              name: webhook.name,
              secret: webhook.secret,
              consecutive_failed_count: webhook.consecutive_failed_count,
            },
          }
        : {}),
    },
    result: {
      success,
      status: captured ? 'DONE' : 'ERROR',
      status_code: result?.status_code ?? null,
      url: result?.final_url ?? p.url,
      format: result?.format ?? p.format ?? 'raw',
      content_type: result?.content_type ?? null,
      // format=json: the parsed document, as the target sent it.
      content: result?.format === 'json' && result.content !== null && captured ? parseOrText(result.content) : (result?.content ?? null),
      response_headers: result?.headers ?? {},
      size: result?.size_bytes ?? 0,
      duration: result ? result.duration_ms / 1000 : null,
      error: success ? null : upstreamStatus !== null ? upstreamError(upstreamStatus) : resultError(job),
      log_url: logUrl(ctx.publicUrl, job.id),
    },
    uuid: job.id,
  };
}

/** result.error: the stored code with what the error table says of it. */
function resultError(job: Pick<Job, 'error_code' | 'error_message'>) {
  const info = job.error_code ? errorInfo(job.error_code) : null;
  return { code: job.error_code, message: job.error_message, http_code: info?.http ?? null, retryable: info?.retryable ?? false };
}

function upstreamError(status: number) {
  const code = 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE';
  const info = errorInfo(code);
  return { code, message: `the target answered HTTP ${status}`, http_code: info.http, retryable: info.retryable };
}

export type ContentType = Webhook['content_type'];
export type ContentEncoding = Webhook['content_encoding'];

export function serialize(doc: unknown, contentType: ContentType): Buffer {
  if (contentType === 'application/msgpack') return Buffer.from(msgpackEncode(doc, { ignoreUndefined: true }));
  return Buffer.from(JSON.stringify(doc));
}

export function compress(body: Buffer, encoding: ContentEncoding): Buffer {
  switch (encoding) {
    case 'gzip':
      return gzipSync(body);
    case 'deflate':
      return deflateSync(body);
    case 'br':
      return brotliCompressSync(body);
    case 'identity':
      return body;
  }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
