import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config';
import { buildRouters } from '../../src/api/app';
import { openApiPath } from '../../src/api/openapi';
import type { ApiDeps } from '../../src/api/context';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';

/** Every (METHOD path) the routers register; HEAD is Koa's echo of GET. */
function registeredRoutes(): Set<string> {
  // Building routers touches no dependency; requests would.
  const deps = { config: loadConfig({}), db: {}, logger: {}, temporal: {} } as unknown as ApiDeps;
  const out = new Set<string>();
  for (const router of buildRouters(deps)) {
    for (const layer of router.stack as Array<{ methods: string[]; path: string }>) {
      const path = layer.path.length > 1 ? layer.path.replace(/\/$/, '') : layer.path;
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
    assert.deepEqual(doc.components.schemas.Error.required, ['code', 'message', 'http_code', 'retryable']);
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((m) => Object.values(m).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('serves a readable reference page naming every path', async () => {
    const res = await fetch(`${hs.apiUrl}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const html = await res.text();
    const doc = (await hs.api('/openapi.json')).body;
    for (const path of Object.keys(doc.paths)) assert.ok(html.includes(path.replace(/&/g, '&#38;')), path);
    assert.ok(!/<script/i.test(html));
  });
});
