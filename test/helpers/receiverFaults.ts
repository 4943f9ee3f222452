// Misbehaving receivers for the fault suite (test/faults), and the figures
// those tests print. Raw TCP where the fault is below HTTP (a silent peer, a
// status line sent byte by byte), so the bytes on the wire are ours exactly.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** A size or count from the environment (FAULTS_*), else the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** One block per test, `# `-prefixed so the runner shows it as a comment. */
export function printFigures(title: string, figures: Record<string, string | number | boolean>): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  const lines = [`# ---- ${title} ----`];
  for (const [k, v] of Object.entries(figures)) lines.push(`#   ${k.padEnd(width)}  ${v}`);
  lines.push(`# ${'-'.repeat(title.length + 10)}`);
  console.log(lines.join('\n'));
}

export const MB = 1024 * 1024;
export const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

export interface Connection {
  openedAt: number;
  /** When the first request byte came (a client may open a connection and use it later). */
  firstByteAt: number | null;
  closedAt: number | null;
  bytesIn: number;
  bytesOut: number;
}

/** What every raw receiver below exposes. */
export interface RawReceiver {
  url: string;
  connections: Connection[];
  /** Sockets still open at the receiver. */
  open(): number;
  close(): Promise<void>;
}

function serveRaw(onConnection: (socket: net.Socket, c: Connection) => void): Promise<RawReceiver> {
  const connections: Connection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const c: Connection = { openedAt: Date.now(), firstByteAt: null, closedAt: null, bytesIn: 0, bytesOut: 0 };
    connections.push(c);
    sockets.add(socket);
    socket.on('data', (b) => {
      c.firstByteAt ??= Date.now();
      c.bytesIn += b.length;
    });
    // A reset from the client is how an abandoned request usually ends.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      c.closedAt = Date.now();
      sockets.delete(socket);
    });
    onConnection(socket, c);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        connections,
        open: () => sockets.size,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/** Accepts every connection, reads whatever comes, and never writes a byte. */
export function startSilentReceiver(): Promise<RawReceiver> {
  return serveRaw(() => undefined);
}

/**
 * Answers each request one byte every `everyMs`, for ever (until the client
 * hangs up). 'body': status line and headers at once, then the body byte by
 * byte; 'status': the status line itself byte by byte, so headers never end.
 */
export function startTrickleReceiver(mode: 'body' | 'status', everyMs: number): Promise<RawReceiver> {
  return serveRaw((socket, c) => {
    let timer: NodeJS.Timeout | null = null;
    const stop = () => timer && clearInterval(timer);
    socket.on('close', stop);
    socket.once('data', () => {
      const head = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1048576\r\n\r\n';
      let pending = mode === 'body' ? '' : head;
      // bytesOut counts the trickled bytes only, not a head sent at once.
      if (mode === 'body') socket.write(head);
      timer = setInterval(() => {
        if (socket.destroyed) return stop();
        const byte = pending ? pending[0]! : 'x';
        pending = pending.slice(1);
        socket.write(byte);
        c.bytesOut++;
      }, everyMs);
    });
  });
}

/**
 * Answers 200 with a body of `totalBytes` generated on the fly from one small
 * buffer (never held whole), honouring backpressure. `written` counts the
 * body bytes the socket took (write callback without error) per response.
 */
export async function startHugeReceiver(totalBytes: number, opts: { chunked?: boolean } = {}) {
  const chunk = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
  const responses: Array<{ startedAt: number; endedAt: number | null; written: number; finished: boolean }> = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const r = { startedAt: Date.now(), endedAt: null as number | null, written: 0, finished: false };
      responses.push(r);
      res.writeHead(200, opts.chunked ? { 'content-type': 'text/plain' } : { 'content-type': 'text/plain', 'content-length': String(totalBytes) });
      let queued = 0;
      let closed = false;
      res.on('close', () => {
        closed = true;
        r.endedAt = Date.now();
      });
      const pump = () => {
        while (!closed && queued < totalBytes) {
          const n = Math.min(chunk.length, totalBytes - queued);
          queued += n;
          const ok = res.write(n === chunk.length ? chunk : chunk.subarray(0, n), (err) => {
            if (!err) r.written += n;
          });
          if (!ok) return void res.once('drain', pump);
        }
        if (!closed) res.end(() => (r.finished = true));
      };
      pump();
    });
  });
  server.on('clientError', (_e, s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    responses,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/**
 * An HTTP receiver answering every request `status` after `delayMs`,
 * stamping each request when its headers arrive (the attempt's start as the
 * receiver sees it) and when it was answered, with the job id it carries.
 */
export async function startStampingReceiver(status: number, delayMs = 0) {
  const received: Array<{ jobId: string; at: number; answeredAt: number | null }> = [];
  const server = http.createServer((req, res) => {
    const r = { jobId: String(req.headers['x-scrapfly-webhook-job-id'] ?? ''), at: Date.now(), answeredAt: null as number | null };
    received.push(r);
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end('down', () => (r.answeredAt = Date.now()));
      }, delayMs),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** Samples this process's memory every `everyMs`: the baseline, the peak, the end. */
export function sampleMemory(everyMs = 100) {
  const before = process.memoryUsage();
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  let samples = 0;
  const take = () => {
    const m = process.memoryUsage();
    samples++;
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      const after = process.memoryUsage();
      return {
        before,
        after,
        peakRss,
        peakHeap,
        samples,
        /** The kernel's high-water mark of RSS, before and after (catches a peak between samples). */
        maxRssBefore,
        maxRssAfter: process.resourceUsage().maxRSS * 1024,
      };
    },
  };
}
