import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../src/config';
import { buildRouters } from '../../src/api/app';
import { openApiPath } from '../../src/api/openapi';
import type { ApiDeps } from '../../src/api/context';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';

/**
 * GET with the path and headers sent as written: fetch() would resolve dot
 * segments first, and adds Cache-Control: no-cache to conditional requests.
 */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(base), { path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode!, headers: h, text: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
  });
}

/** Every (METHOD path) the routers register; HEAD is Koa's echo of GET. */
function registeredRoutes(): Set<string> {
  // Building routers touches no dependency; requests would.
  const deps = { config: loadConfig({}), db: {}, logger: {}, temporal: {} } as unknown as ApiDeps;
  const out = new Set<string>();
  for (const router of buildRouters(deps)) {
    for (const layer of router.stack as Array<{ methods: string[]; path: string }>) {
      const path = layer.path.length > 1 ? layer.path.replace(/\/$/, '') : layer.path;
      // The dashboard's pages are for people (HTML, session and CSRF), not API operations.
      if (path === '/dashboard' || path.startsWith('/dashboard/')) continue;
      for (const m of layer.methods) if (m !== 'HEAD') out.add(`${m} ${openApiPath(path)}`);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  let hs: TestHookshot;
  before(async () => {
    hs = await startTestHookshot();
  });
  after(async () => {
    await hs?.close();
  });

  it('lists every route the API serves, and no other', async () => {
    const r = await hs.api('/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    const documented = new Set<string>();
    for (const [path, methods] of Object.entries(r.body.paths as Record<string, object>)) {
      for (const m of Object.keys(methods)) documented.add(`${m.toUpperCase()} ${path}`);
    }
    const served = registeredRoutes();
    assert.ok(served.size >= 20, `found ${served.size} routes`);
    assert.deepEqual([...served].filter((x) => !documented.has(x)).sort(), [], 'served but not documented');
    assert.deepEqual([...documented].filter((x) => !served.has(x)).sort(), [], 'documented but not served');
  });

  it('describes parameters from the validation schemas', async () => {
    const doc = (await hs.api('/openapi.json')).body;
    const scrape = doc.paths['/scrape'].get;
    const url = scrape.parameters.find((p: { name: string }) => p.name === 'url');
    assert.equal(url.required, true);
    const format = scrape.parameters.find((p: { name: string }) => p.name === 'format');
    assert.deepEqual(format.schema.enum, ['raw', 'text', 'markdown', 'json']);
    assert.ok(scrape.parameters.some((p: { name: string; in: string }) => p.name === 'Idempotency-Key' && p.in === 'header'));
    const create = doc.paths['/webhooks'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(create.required.sort(), ['name', 'url']);
    assert.deepEqual(create.properties.content_encoding.enum, ['identity', 'gzip', 'deflate', 'br']);
    assert.equal(doc.paths['/webhooks/{name}'].delete.parameters[0].in, 'path');
    assert.deepEqual(doc.components.schemas.Error.required, ['code', 'message', 'http_code', 'retryable', 'error_id']);
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((m) =>
      Object.values(m).map((o) => o.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('serves Swagger UI at /docs, from our own origin, with a strict CSP and no key', async () => {
    const res = await fetch(`${hs.apiUrl}/docs`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /(^|; )default-src 'self'(;|$)/);
    assert.ok(!csp.includes('unsafe'), csp);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'no inline script');
    assert.ok(!/\bstyle[=>]/i.test(html), 'no inline style');
    // Every linked URL is on this origin, under /docs/.
    const links = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(links.length >= 4, html);
    for (const link of links) assert.match(link, /^\/docs\/[\w.-]+\?v=[\w-]+$/);
    for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css', 'init.js'])
      assert.ok(
        links.some((l) => l.startsWith(`/docs/${name}?`)),
        name,
      );
  });

  it('serves each asset with its type and cache headers; If-None-Match gets 304', async () => {
    const expected: Record<string, string> = {
      'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
      'init.js': 'text/javascript; charset=utf-8',
      'swagger-ui.css': 'text/css; charset=utf-8',
      'index.css': 'text/css; charset=utf-8',
      'favicon-32x32.png': 'image/png',
      'favicon-16x16.png': 'image/png',
    };
    const doc = (await hs.api('/openapi.json')).body;
    const documented = doc.paths['/docs/{asset}'].get.parameters[0].schema.enum;
    assert.deepEqual([...documented].sort(), Object.keys(expected).sort(), 'the document lists exactly the served assets');
    const sources = dirname(require.resolve('swagger-ui-dist/package.json'));
    for (const [name, type] of Object.entries(expected)) {
      const res = await fetch(`${hs.apiUrl}/docs/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('content-type'), type, name);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=86400', name);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name);
      const body = Buffer.from(await res.arrayBuffer());
      if (name === 'init.js') {
        assert.match(body.toString(), /url: '\/openapi\.json'/);
        assert.match(body.toString(), /validatorUrl: null/);
      } else {
        assert.ok(body.equals(readFileSync(join(sources, name))), `${name} is the package's file`);
      }
      const etag = res.headers.get('etag');
      assert.ok(etag, name);
      const again = await rawGet(hs.apiUrl, `/docs/${name}`, { 'if-none-match': etag });
      assert.equal(again.status, 304, name);
      assert.equal(again.text, '');
    }
  });

  it('nothing else from the package, and no path traversal: 404 in the error shape', async () => {
    for (const path of [
      '/docs/index.html',
      '/docs/swagger-initializer.js',
      '/docs/swagger-ui-bundle.js.map',
      '/docs/package.json',
      '/docs/LICENSE',
      '/docs/Init.js',
      '/docs/__proto__',
      '/docs/constructor',
      '/docs/..%2Fpackage.json',
      '/docs/..%2F..%2F..%2Fpackage.json',
      '/docs/%2e%2e/package.json',
      '/docs/x/..%2F..%2Fpackage.json',
      '/docs/../package.json',
      '/docs/..\\package.json',
      '/docs/%2Fetc%2Fpasswd',
      '/docs/init.js%00',
      '/docs/%zz',
      '/docs/%E0%A4%A',
      '/docs/%C0%AF',
      '/docs/swagger-ui-dist/swagger-ui.css',
      '/Docs',
    ]) {
      const res = await rawGet(hs.apiUrl, path);
      assert.equal(res.status, 404, path);
      const r = { headers: res.headers, body: JSON.parse(res.text) };
      assert.deepEqual(Object.keys(r.body).sort(), ['code', 'error_id', 'http_code', 'message', 'retryable'], path);
      assert.equal(r.body.code, 'ERR::API::NOT_FOUND', path);
      assert.equal(r.body.http_code, 404, path);
      assert.equal(r.body.retryable, false, path);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/, path);
    }
  });
});
