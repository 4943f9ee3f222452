/**
 * Outbound HTTP with the SSRF guard in the connect path.
 *
 * The agent's connector resolves the hostname itself, judges every resolved
 * address and dials the judged address directly, so there is no second DNS
 * lookup that a rebinding answer could slip through. Redirects are followed
 * manually so each hop goes back through the same connector.
 */
import * as dns from 'node:dns';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, request as undiciRequest, type Dispatcher } from 'undici';
import { type AddressGuard, AddressRefusedError, normalizeIpLiteral } from './addressGuard';

export { AddressRefusedError };

/** The `dns.lookup(host, {all: true}, cb)` shape; `dns.lookup` itself fits. */
export type LookupAllFn = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface GuardedAgentOptions {
  guard: AddressGuard;
  /** Per-address TCP/TLS connect timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** Resolver override (tests, custom DNS). Default `dns.lookup`. */
  lookup?: LookupAllFn;
  /** Extra TLS options (e.g. `ca` for a private CA). Addressing fields are ours. */
  tls?: Omit<ConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'lookup' | 'servername'>;
}

// ---------------------------------------------------------------------------
// Errors

export type RedirectReason = 'https_to_http' | 'too_many_redirects' | 'bad_location';

export class RedirectError extends Error {
  override readonly name = 'RedirectError';
  constructor(
    readonly reason: RedirectReason,
    /** URL whose response carried the redirect. */
    readonly url: string,
    readonly location: string | null,
    message: string,
  ) {
    super(message);
  }
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly timeoutMs: number,
    readonly url: string,
  ) {
    super(`request to ${url} did not complete within ${timeoutMs} ms`);
  }
}

/** Transport failure: errno (ECONNREFUSED, ENOTFOUND, ...) or undici socket code. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly code: string,
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`connection to ${url} failed: ${code}${cause instanceof Error ? ` (${cause.message})` : ''}`);
  }
}

export class InvalidUrlError extends Error {
  override readonly name = 'InvalidUrlError';
  constructor(
    readonly reason: 'invalid_url' | 'unsupported_scheme',
    readonly url: string,
  ) {
    super(reason === 'invalid_url' ? `invalid URL: ${url}` : `unsupported URL scheme in ${url}: only http: and https: are allowed`);
  }
}

// ---------------------------------------------------------------------------
// Connector

/**
 * Policy for multi-address answers: refuse if ANY resolved address is
 * refused. A name mixing public and internal answers is either broken or an
 * attack, and refusing is deterministic (no dependence on which address the
 * OS would try first). Allowed addresses are then dialled in resolver order,
 * falling through to the next one only on a connect failure.
 */
export function createGuardedConnector(opts: GuardedAgentOptions): buildConnector.connector {
  const { guard } = opts;
  const lookup: LookupAllFn = opts.lookup ?? dns.lookup;
  const tlsOpts: Record<string, unknown> = { ...opts.tls };
  // Untyped callers must not redirect the dial (e.g. `path` to a unix socket).
  for (const k of ['host', 'hostname', 'port', 'path', 'socket', 'lookup', 'servername']) delete tlsOpts[k];
  const dial = buildConnector({ ...tlsOpts, timeout: opts.connectTimeoutMs ?? 10_000 });

  return (connOpts, callback) => {
    const hostname = connOpts.hostname;
    const literal = normalizeIpLiteral(hostname);
    const fail = (err: Error): void => process.nextTick(() => callback(err, null));

    const proceed = (addresses: string[]): void => {
      if (addresses.length === 0) {
        const err: NodeJS.ErrnoException = new Error(`no addresses for ${hostname}`);
        err.code = 'ENOTFOUND';
        return fail(err);
      }
      const judged: string[] = [];
      for (const address of addresses) {
        const verdict = guard.check(address);
        if (!verdict.allowed) return fail(new AddressRefusedError(hostname, address, verdict.reason));
        // Dial the normalised literal so net.connect never resolves anything itself.
        const dialled = normalizeIpLiteral(address);
        if (dialled === null) return fail(new AddressRefusedError(hostname, address, `${address} is not an IP address`));
        judged.push(dialled);
      }
      // SNI must carry the name, never an IP (RFC 6066); certificate checks follow it.
      const servername = connOpts.servername || (literal === null ? hostname.replace(/\.$/, '') : undefined);
      let i = 0;
      const attempt = (): void => {
        dial(
          {
            ...connOpts,
            hostname: judged[i], // the judged address is what gets dialled
            servername,
          },
          (err, socket) => {
            if (err && ++i < judged.length && !connOpts.httpSocket) return attempt();
            if (err) return callback(err, null);
            callback(null, socket as Socket);
          },
        );
      };
      attempt();
    };

    if (literal !== null) return proceed([literal]);

    try {
      lookup(hostname, { all: true }, (err, result) => {
        if (err) return callback(err, null);
        // Tolerate resolvers that ignore `all` and answer with one string.
        const list: unknown[] = Array.isArray(result) ? result : [result];
        proceed(list.map((r) => (typeof r === 'string' ? r : (r as dns.LookupAddress).address)));
      });
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  };
}

/** undici Agent whose every connection goes through the guarded connector. */
export function createGuardedAgent(opts: GuardedAgentOptions): Agent {
  return new Agent({ connect: createGuardedConnector(opts) });
}

// ---------------------------------------------------------------------------
// Request with manual redirects, whole-request timeout and body cap

export interface GuardedRequestOptions {
  url: string | URL;
  method?: string;
  headers?: Record<string, string | string[] | undefined>;
  /** Re-sent unchanged on every redirect hop, so it must be replayable. */
  body?: string | Uint8Array | null;
  /** Whole request: every hop, headers and body. Default 30 s. */
  timeoutMs?: number;
  maxRedirects?: number;
  /** false: a 3xx comes back as the response (for a proxy whose client follows redirects itself). */
  followRedirects?: boolean;
  allowHttpsToHttp?: boolean;
  /** Bytes of body kept; the rest is not read. Default 10 MiB. */
  maxBodyBytes?: number;
  /**
   * The caller giving up (a cancelled activity): the request stops at once and
   * rejects with the signal's reason, not with one of the errors above.
   */
  signal?: AbortSignal;
}

export interface GuardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** True when the body was cut at maxBodyBytes (not an error). */
  truncated: boolean;
  finalUrl: string;
  redirects: number;
  durationMs: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_STRIPPED = new Set(['authorization', 'cookie', 'proxy-authorization', 'host']);

function parseHttpUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new InvalidUrlError('invalid_url', String(input));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidUrlError('unsupported_scheme', url.href);
  }
  return url;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function mapError(err: unknown, signal: AbortSignal, url: URL): unknown {
  if (signal.aborted) return signal.reason; // our timer's RequestTimeoutError, or the caller's reason
  if (err instanceof AddressRefusedError || err instanceof RedirectError || err instanceof RequestTimeoutError || err instanceof InvalidUrlError) {
    return err;
  }
  const code = (err as { code?: unknown } | null)?.code;
  // Argument errors are caller bugs, not transport failures.
  if (typeof code === 'string' && !code.startsWith('ERR_INVALID') && code !== 'UND_ERR_INVALID_ARG') {
    return new ConnectionError(code, url.href, err);
  }
  return err;
}

async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size + buf.length > max) {
      chunks.push(buf.subarray(0, max - size));
      truncated = true;
      break; // leaving the loop destroys the body; the connection is dropped
    }
    chunks.push(buf);
    size += buf.length;
  }
  return { body: Buffer.concat(chunks), truncated };
}

/**
 * Guarded request. Redirects (301/302/303/307/308) keep the method and body
 * on every hop, as the delivery spec requires (so 303 is not turned into
 * GET). Cross-origin hops drop Authorization, Cookie, Proxy-Authorization
 * and Host, like browsers and undici do.
 */
export async function request(dispatcher: Dispatcher, opts: GuardedRequestOptions): Promise<GuardedResponse> {
  const started = performance.now();
  const method = (opts.method ?? 'GET').toUpperCase() as Dispatcher.HttpMethod;
  const maxRedirects = opts.maxRedirects ?? 5;
  const maxBodyBytes = opts.maxBodyBytes ?? 10 * 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const body = opts.body ?? null;
  let headers = flattenHeaders(opts.headers ?? {});
  let current = parseHttpUrl(opts.url);
  let redirects = 0;

  const controller = new AbortController();
  // setTimeout fires at once beyond 2^31-1 ms, so clamp.
  const timer = setTimeout(() => controller.abort(new RequestTimeoutError(timeoutMs, current.href)), Math.min(timeoutMs, 2_147_483_647));
  const { signal } = controller;
  const outer = opts.signal;
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  try {
    for (;;) {
      let res: Dispatcher.ResponseData;
      try {
        res = await undiciRequest(current, { dispatcher, method, headers, body, signal });
      } catch (err) {
        throw mapError(err, signal, current);
      }

      const location = res.headers['location'];
      const loc = Array.isArray(location) ? location[0] : location;
      if (REDIRECT_STATUSES.has(res.statusCode) && loc !== undefined && opts.followRedirects !== false) {
        // Drain a little so the connection can be reused; errors here don't matter.
        await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        if (signal.aborted) throw signal.reason;
        if (redirects >= maxRedirects) {
          throw new RedirectError('too_many_redirects', current.href, loc, `more than ${maxRedirects} redirects starting from ${String(opts.url)}`);
        }
        let next: URL;
        try {
          next = new URL(loc, current);
        } catch {
          throw new RedirectError('bad_location', current.href, loc, `invalid redirect Location "${loc}" from ${current.href}`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new RedirectError('bad_location', current.href, loc, `redirect from ${current.href} to unsupported scheme ${next.protocol}`);
        }
        if (current.protocol === 'https:' && next.protocol === 'http:' && !opts.allowHttpsToHttp) {
          throw new RedirectError('https_to_http', current.href, loc, `refusing HTTPS to HTTP redirect from ${current.href} to ${next.href}`);
        }
        if (next.origin !== current.origin) {
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CROSS_ORIGIN_STRIPPED.has(k.toLowerCase())));
        }
        current = next;
        redirects++;
        continue;
      }

      let read: { body: Buffer; truncated: boolean };
      try {
        read = await readCapped(res.body, maxBodyBytes);
      } catch (err) {
        throw mapError(err, signal, current);
      }
      return {
        status: res.statusCode,
        headers: flattenHeaders(res.headers),
        body: read.body,
        truncated: read.truncated,
        finalUrl: current.href,
        redirects,
        durationMs: performance.now() - started,
      };
    }
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}
