// What the crawl's three fetchers (pages, robots.txt, sitemaps) share on top
// of the guarded client: capped decompression and one wording for failures.
//
// The guarded client does not decompress (undici's request() never does), so
// a body it returns is the bytes on the wire. Decompressing is where a small
// body turns into a large one (a 50 KB gzip can inflate to gigabytes), so
// every inflate here is capped with zlib's maxOutputLength, which stops the
// stream as soon as the cap is passed instead of after.
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { AddressRefusedError, ConnectionError, InvalidUrlError, RedirectError, RequestTimeoutError } from '../net/httpClient';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

/** A body over its byte cap, on the wire or once decompressed. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(
    readonly maxBytes: number,
    decompressed = false,
  ) {
    super(`response is larger than the ${maxBytes} byte cap${decompressed ? ' once decompressed' : ''}`);
  }
}

/** A Content-Encoding we cannot undo, or a compressed body that does not decompress. */
export class ContentEncodingError extends Error {
  override readonly name = 'ContentEncodingError';
}

function isTooLarge(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/** The gzip magic number: a .gz file served without Content-Encoding still starts with it. */
export function looksGzipped(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** Gunzips `body` into at most `maxBytes`; BodyTooLargeError past it. */
export async function gunzipCapped(body: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzip(body, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if (isTooLarge(err)) throw new BodyTooLargeError(maxBytes, true);
    throw new ContentEncodingError(`the gzip body does not decompress: ${(err as Error).message}`);
  }
}

/**
 * Undoes a response's Content-Encoding (gzip, x-gzip, deflate, br; identity
 * and none pass through), capped at `maxBytes` of output. `deflate` is meant
 * to be zlib-wrapped, but servers sending raw deflate are common enough that
 * raw is tried when the wrapped form fails. Several codings (`gzip, br`) are
 * undone in reverse order, as RFC 9110 section 8.4 lists them.
 */
export async function decodeContentEncoding(body: Buffer, header: string | undefined, maxBytes: number): Promise<Buffer> {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let out = body;
  for (const coding of codings.reverse()) {
    const opts = { maxOutputLength: Math.max(1, maxBytes) };
    try {
      if (coding === 'gzip' || coding === 'x-gzip') out = await gunzip(out, opts);
      else if (coding === 'br') out = await brotli(out, opts);
      else if (coding === 'deflate')
        out = await inflate(out, opts).catch((err: unknown) => (isTooLarge(err) ? Promise.reject(err) : inflateRaw(out, opts)));
      else throw new ContentEncodingError(`unsupported Content-Encoding "${coding}"`);
    } catch (err) {
      if (err instanceof ContentEncodingError) throw err;
      if (isTooLarge(err)) throw new BodyTooLargeError(maxBytes, true);
      throw new ContentEncodingError(`the ${coding} body does not decompress: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * The error code a failed fetch is reported with to a Scrapfly crawler
 * (crawler_url_failed), the scrape job's codes; null when `err` is not a
 * fetch failure. An undecodable body is the upstream's fault.
 */
export function fetchErrorCode(err: unknown): string | null {
  if (err instanceof AddressRefusedError) return 'ERR::SCRAPE::ADDRESS_REFUSED';
  if (err instanceof RequestTimeoutError) return 'ERR::SCRAPE::TIMEOUT';
  if (err instanceof RedirectError) return 'ERR::SCRAPE::REDIRECT';
  if (err instanceof ConnectionError || err instanceof InvalidUrlError) return 'ERR::SCRAPE::NETWORK';
  if (err instanceof BodyTooLargeError) return 'ERR::SCRAPE::TOO_LARGE';
  if (err instanceof ContentEncodingError) return 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE';
  return null;
}

/**
 * The message a failed fetch is reported with, or null when `err` is not a
 * fetch failure (a bug, or the caller's abort) and must be rethrown. Worded
 * like the scrape job's errors (src/capture/run.ts).
 */
export function describeFetchError(err: unknown): string | null {
  if (err instanceof AddressRefusedError) return `refused by the address guard: ${err.reason}`;
  if (err instanceof RequestTimeoutError) return `timed out after ${err.timeoutMs} ms`;
  if (err instanceof RedirectError) return err.message;
  if (err instanceof ConnectionError) return err.message;
  if (err instanceof InvalidUrlError) return err.message;
  if (err instanceof BodyTooLargeError) return err.message;
  if (err instanceof ContentEncodingError) return err.message;
  return null;
}
