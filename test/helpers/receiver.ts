import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  at: number;
  /** When the answer was written out; unset while it is held or if the sender went away first. */
  answeredAt?: number;
}

export type Responder = (
  req: Received,
  index: number,
) => { status: number; headers?: Record<string, string>; body?: string; /** Hold the answer this long (an attempt in flight). */ delayMs?: number };

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** What both the HTTP and the HTTPS receiver build on: a Node server of either kind. */
export type RecordingServer = Pick<http.Server, 'listen' | 'address' | 'close' | 'closeAllConnections'>;

const defaultResponder: Responder = () => ({ status: 200, body: 'ok' });

/**
 * A real HTTP receiver on loopback that records every request. `respond`
 * scripts the answers (default 200). waitFor() resolves once n requests came.
 */
export function startReceiver(respond: Responder = defaultResponder, host = '127.0.0.1') {
  return serveRecorder('http', (handler) => http.createServer(handler), respond, host);
}

/** Listens on `host` port 0 with a server made by `create`, recording every request. */
export async function serveRecorder(
  scheme: 'http' | 'https',
  create: (handler: http.RequestListener) => RecordingServer,
  respond: Responder = defaultResponder,
  host = '127.0.0.1',
) {
  const received: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = create((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      received.push(r);
      const answer = respond(r, received.length - 1);
      const send = () => {
        if (res.destroyed) return; // the sender died while the answer was held
        res.writeHead(answer.status, answer.headers ?? { 'content-type': 'text/plain' });
        res.end(answer.body ?? '', () => (r.answeredAt = Date.now()));
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
      else send();
      for (const w of waiters.filter((w) => received.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received,
    waitFor(n: number, timeoutMs = 30_000): Promise<void> {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`receiver got ${received.length} of ${n} requests in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
