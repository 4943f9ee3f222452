import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AddressRefusedError, createGuardedConnector, request, RequestTimeoutError } from '../net/httpClient';
import type { AddressGuard } from '../net/addressGuard';

/** Marks a proxy answer that is a refusal of the address guard (only the proxy sets it). */
export const REFUSED_HEADER = 'x-hookshot-address-refused';

/**
 * Marks a proxy answer given because the target could not be reached (only
 * the proxy sets it): `NETWORK <reason>` or `TIMEOUT <reason>`. Without it the
 * browser would render the proxy's 502 as if the target had answered it.
 */
export const UNREACHABLE_HEADER = 'x-hookshot-unreachable';

/** `NETWORK <reason>` / `TIMEOUT <reason>` as a header value: printable ASCII, bounded. */
export function unreachableMark(err: unknown): string {
  const kind = err instanceof RequestTimeoutError ? 'TIMEOUT' : 'NETWORK';
  const reason = (err instanceof Error ? err.message : String(err)).replace(/[^\x20-\x7e]+/g, ' ').slice(0, 300);
  return `${kind} ${reason}`.trim();
}

/** One request the guard refused: a plain http:// URL, or a CONNECT tunnel (https://, wss://) to hostname:port. */
export interface Refusal {
  /** The absolute URL for plain http://; null for a tunnel, whose path the proxy never sees. */
  url: string | null;
  /** Without IPv6 brackets. */
  hostname: string;
  port: string;
  reason: string;
}

export interface GuardProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Requests refused since `sinceMs` (performance.now()), oldest first. */
  refusedSince(sinceMs: number): Refusal[];
  close(): Promise<void>;
}

/**
 * The browser's only way out: a forward proxy on loopback that resolves each
 * host itself, checks every address with the guard and connects to the
 * checked address. Chromium keeps its own redirects, TLS and navigation, yet
 * no request, hop or WebSocket of a page reaches a refused address, and a
 * DNS answer that changes cannot slip past (the proxy dials what it checked).
 */
export async function startGuardProxy(opts: { guard: AddressGuard; http: Dispatcher; maxBytes: number; timeoutMs: number }): Promise<GuardProxy> {
  const connect = createGuardedConnector({ guard: opts.guard });
  const refusals: Array<{ at: number; refusal: Refusal }> = [];
  const remember = (refusal: Refusal) => {
    refusals.push({ at: performance.now(), refusal });
    if (refusals.length > 200) refusals.splice(0, refusals.length - 200);
  };
  const sockets = new Set<Socket>();

  // Plain http:// requests arrive in absolute form.
  const forward = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = req.url ?? '';
    if (!/^http:\/\//i.test(url)) {
      res.writeHead(400).end('absolute http:// URL expected');
      return;
    }
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined || /^(proxy-|connection$|keep-alive$)/i.test(k)) continue;
        headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      headers['accept-encoding'] = 'identity';
      const upstream = await request(opts.http, {
        url,
        method: req.method ?? 'GET',
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        timeoutMs: opts.timeoutMs,
        followRedirects: false, // the browser follows redirects; each hop comes back through here
        maxBodyBytes: opts.maxBytes,
      });
      // A site must not be able to pass its own answer off as a refusal, or as no answer.
      const {
        'content-length': _l,
        'transfer-encoding': _t,
        'content-encoding': _e,
        connection: _c,
        [REFUSED_HEADER]: _r,
        [UNREACHABLE_HEADER]: _u,
        ...keep
      } = upstream.headers;
      res.writeHead(upstream.status, { ...keep, 'content-length': String(upstream.body.length) });
      res.end(upstream.body);
    } catch (err) {
      if (err instanceof AddressRefusedError) {
        const u = new URL(url);
        remember({ url, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || '80', reason: err.reason });
        res.writeHead(403, { 'content-type': 'text/plain', [REFUSED_HEADER]: err.reason }).end(`refused: ${err.reason}`);
      } else if (!res.headersSent) {
        res
          .writeHead(502, { 'content-type': 'text/plain', [UNREACHABLE_HEADER]: unreachableMark(err) })
          .end(`upstream failed: ${(err as Error).message}`);
      }
    }
  };
  // node:http ignores a listener's promise: a throw left in the error answer
  // itself (a URL that does not parse, an answer already started) would be an
  // unhandled rejection, which ends the process. It ends the exchange instead.
  const server = http.createServer((req, res) => {
    forward(req, res).catch(() => res.destroy());
  });

  // https:// and WebSockets tunnel through CONNECT host:port.
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const [, hostname, port] = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '') ?? [];
    if (hostname === undefined || port === undefined) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    connect({ hostname, host: hostname, protocol: 'http:', port } as Parameters<typeof connect>[0], (err, upstream) => {
      if (err || !upstream) {
        if (err instanceof AddressRefusedError) remember({ url: null, hostname, port, reason: err.reason });
        client.end(`HTTP/1.1 ${err instanceof AddressRefusedError ? '403 Forbidden' : '502 Bad Gateway'}\r\n\r\n`);
        return;
      }
      sockets.add(upstream as Socket);
      upstream.on('close', () => sockets.delete(upstream as Socket));
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      pipeline(client, upstream, client, () => undefined);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refusedSince: (since) => refusals.filter((r) => r.at >= since).map((r) => r.refusal),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
