import type Koa from 'koa';
import { Response } from 'undici';
import { AppError, ValidationError } from '../../errors';
import type { AppState } from '../context';

declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}

/**
 * Reads a JSON body up to `limit` bytes (413 past it). Requests without a
 * body leave ctx.request.body undefined. Other media types are 415, except
 * where a client we serve sends them: the dashboard's forms, and two routes
 * of Scrapfly's Crawler API (see CRAWLER_BODIES).
 */
export function jsonBody(limit: number): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const length = ctx.request.length;
    const hasBody = (length !== undefined && length > 0) || ctx.get('transfer-encoding') !== '';
    if (!hasBody || ['GET', 'HEAD', 'DELETE'].includes(ctx.method)) return next();
    // Dashboard forms post as browsers do; the API takes JSON only, but for the crawler's own media.
    const form = ctx.path.startsWith('/dashboard/') && ctx.request.is('application/x-www-form-urlencoded') !== false;
    const crawler = ctx.method === 'POST' ? CRAWLER_BODIES.find((b) => b.path.test(ctx.path) && ctx.request.is(b.type) !== false) : undefined;
    if (!form && !crawler && !ctx.request.is('application/json')) {
      throw new AppError('ERR::API::UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    }
    if (length !== undefined && length > limit) throw tooLarge(limit);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    if (crawler) {
      ctx.request.body = await crawler.read(raw, ctx.get('content-type'));
      return next();
    }
    const text = raw.toString('utf8');
    if (form) {
      ctx.request.body = Object.fromEntries(new URLSearchParams(text));
      return next();
    }
    if (text.trim() !== '') ctx.request.body = parseJson(text, 'request body');
    return next();
  };
}

function parseJson(text: string, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  // No request of ours nests deeply; refusing here keeps every later walk bounded.
  if (depthExceeds(parsed, MAX_DEPTH)) throw new ValidationError(`${what} is nested deeper than ${MAX_DEPTH} levels`);
  return parsed;
}

/**
 * What the Scrapfly SDK posts besides JSON (docs/scrapfly-crawler-contract.md):
 * a crawler over a url_list as multipart/form-data (a `config` part, the
 * JSON config, and a `urls` part, one URL a line), and the URLs of a batch
 * read as text/plain. Both become the object the route's schema checks, so
 * its rules and messages are the JSON body's: `{...config, url_list}` and
 * `{urls: text}`. The size limit has applied to the raw bytes already.
 */
const CRAWLER_BODIES: Array<{ path: RegExp; type: string; read: (raw: Buffer, contentType: string) => Promise<unknown> }> = [
  { path: /^\/crawl$/, type: 'multipart/form-data', read: readCrawlerForm },
  { path: /^\/crawl\/[^/]+\/contents\/batch$/, type: 'text/plain', read: async (raw) => ({ urls: raw.toString('utf8') }) },
];

async function readCrawlerForm(raw: Buffer, contentType: string): Promise<Record<string, unknown>> {
  let form: Awaited<ReturnType<Response['formData']>>;
  try {
    // undici's own multipart parser (the one fetch uses), on bytes already bounded by the limit.
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw new ValidationError(`request body is not valid multipart/form-data: ${(err as Error).message}`);
  }
  let config: Record<string, unknown> | undefined;
  let urls: string[] | undefined;
  // One of each; a repeated part is refused like any other unexpected one.
  for (const [name, value] of form) {
    const text = typeof value === 'string' ? value : await value.text();
    if (name === 'config' && config === undefined) {
      const parsed = text.trim() === '' ? {} : parseJson(text, 'the config part');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ValidationError('the config part must be a JSON object');
      config = parsed as Record<string, unknown>;
    } else if (name === 'urls' && urls === undefined) {
      urls = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '');
    } else {
      throw new ValidationError(
        `multipart part "${name.slice(0, 64)}" is not expected: send one config part (JSON) and one urls part (one URL a line)`,
      );
    }
  }
  if (urls === undefined) return config ?? {};
  if (config && 'url_list' in config) throw new ValidationError('url_list: give the URLs in the urls part or in the config, not both');
  return { ...config, url_list: urls };
}

const MAX_DEPTH = 32;

/** Iterative, so the check itself cannot overflow the stack. */
function depthExceeds(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, d] = top;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) return true;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

const tooLarge = (limit: number) => new AppError('ERR::API::PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`);
