// Loopback HTTP servers and the guarded client that may reach them, for the
// crawl fetchers' unit tests. Nothing here dials anything but 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { AddressGuard, parseCidr } from '../../src/net/addressGuard';
import { createGuardedAgent } from '../../src/net/httpClient';

export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface LoopbackServer {
  origin: string;
  port: number;
  requests: SeenRequest[];
  connections: number;
  /** Requests seen for one path. */
  hits(path: string): number;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Servers and agents made through one Loopback, closed together. */
export class Loopback {
  private readonly servers: http.Server[] = [];
  private readonly agents: Agent[] = [];

  async server(handler: Handler): Promise<LoopbackServer> {
    const srv: LoopbackServer = {
      origin: '',
      port: 0,
      requests: [],
      connections: 0,
      hits: (p) => srv.requests.filter((r) => r.path === p).length,
    };
    const server = http.createServer((req, res) => {
      srv.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      handler(req, res);
    });
    server.on('connection', () => srv.connections++);
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    srv.port = (server.address() as AddressInfo).port;
    srv.origin = `http://127.0.0.1:${srv.port}`;
    return srv;
  }

  /** The guarded agent with 127.0.0.1/32 allowed, or with no allow-list (loopback refused). */
  agent(allowLoopback = true): Agent {
    const agent = createGuardedAgent({ guard: new AddressGuard(allowLoopback ? [parseCidr('127.0.0.1/32')] : []) });
    this.agents.push(agent);
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.destroy()));
    for (const s of this.servers) {
      s.closeAllConnections();
      s.close();
    }
  }
}

/** A route table: path (without the query) to handler; anything else is a 404. */
export function routes(table: Record<string, Handler>): Handler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const h = table[path];
    if (h) return h(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  };
}

export const send =
  (status: number, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };

export const html = (body: string, status = 200): Handler => send(status, body, { 'content-type': 'text/html; charset=utf-8' });
