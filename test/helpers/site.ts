import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const STATIC_PAGE = `<!doctype html><html><head><title>Test page</title><style>body{color:red}</style>
<script>var hidden = 'script text';</script></head><body>
<h1>Main Title</h1><p>Intro with a <a href="/about">relative link</a>.</p>
<h2>List</h2><ul><li>first</li><li>second</li></ul>
<table><thead><tr><th>Name</th><th>Qty</th></tr></thead><tbody><tr><td>apple</td><td>3</td></tr></tbody></table>
<noscript>enable javascript</noscript></body></html>`;

/**
 * The loopback test site of the capture tests: static, JavaScript-only,
 * tall, redirecting, slow, huge, Latin-1 and JSON pages.
 */
export async function startTestSite() {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    const path = (req.url ?? '/').split('?')[0];
    const html = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body);
    };
    switch (path) {
      case '/static':
        return html(STATIC_PAGE);
      case '/js':
        return html(`<html><body><div id="out"></div><script>
          document.getElementById('out').textContent = 'made by javascript';
          setTimeout(() => { const d = document.createElement('p'); d.id = 'late'; d.textContent = 'late arrival'; document.body.append(d); }, 400);
        </script></body></html>`);
      case '/tall':
        return html(`<html><body style="margin:0"><div style="height:3000px;background:linear-gradient(red,blue)">tall</div></body></html>`);
      case '/box':
        return html(
          `<html><body style="margin:0"><div style="height:500px">spacer</div><div id="box" style="width:300px;height:200px;background:green"></div></body></html>`,
        );
      case '/embed': {
        // Sub-resources and script requests aimed at ?target=: the browser must route them through the guard.
        const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
        return html(`<html><body><h1>embeds</h1><img src="${target}/img.png"><iframe src="${target}/frame"></iframe>
          <script>fetch('${target}/api').catch(() => {}); new Image().src = '${target}/beacon';</script></body></html>`);
      }
      case '/to-forbidden': {
        const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
        res.writeHead(302, { location: `${target}/landing` });
        return res.end();
      }
      case '/redirect':
        res.writeHead(302, { location: '/static' });
        return res.end();
      case '/slow':
        setTimeout(() => html('<html><body>finally</body></html>'), 3000).unref();
        return;
      case '/huge':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('y'.repeat(2 * 1024 * 1024));
      case '/latin1':
        res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' });
        return res.end(
          Buffer.concat([
            Buffer.from('<html><body><p>caf'),
            Buffer.from([0xe9]),
            Buffer.from(' cr'),
            Buffer.from([0xe8]),
            Buffer.from('me</p></body></html>'),
          ]),
        );
      case '/json':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ items: [1, 2, 3], ok: true }));
      case '/status/503':
        res.writeHead(503, { 'content-type': 'text/plain' });
        return res.end('maintenance');
      default:
        res.writeHead(404);
        return res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** A one-page site on loopback: every path answers `body`. */
export async function startPageServer(body = 'page') {
  const server = http.createServer((_q, s) => s.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
