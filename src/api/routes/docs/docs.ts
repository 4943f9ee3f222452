import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import { AppError } from '../../../errors';
import type { AppState, Ctx } from '../../context';

/**
 * Swagger UI served from the swagger-ui-dist package by Hookshot itself: no
 * CDN, and nothing from the package directory but the files named here. A
 * request is looked up in this list, never joined onto a file path, so no
 * name can reach anything else.
 */
const PACKAGE_FILES: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

// A file rather than an inline <script>, so the CSP needs no 'unsafe-inline'.
// The online validator is off: it would send our document to validator.swagger.io.
const INIT_JS = `'use strict';
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  layout: 'BaseLayout',
  validatorUrl: null,
});
`;

/** Every name served under /docs/ (the OpenAPI document lists them). */
export const DOCS_ASSETS = [...Object.keys(PACKAGE_FILES), 'init.js'] as const;

// Swagger UI's stylesheet draws its icons as data: SVGs; nothing else is loosened.
export const DOCS_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
  /** Short content hash for ?v= in links, so a new version is fetched at once. */
  version: string;
}

function asset(type: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('base64url');
  return { type, body, etag: `"${hash}"`, version: hash.slice(0, 12) };
}

function loadAssets(): Map<string, Asset> {
  const dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(PACKAGE_FILES)) assets.set(name, asset(type, readFileSync(path.join(dir, name))));
  assets.set('init.js', asset('text/javascript; charset=utf-8', Buffer.from(INIT_JS)));
  return assets;
}

function page(assets: Map<string, Asset>): Asset {
  const href = (name: string) => {
    const a = assets.get(name);
    if (!a) throw new Error(`the docs page links ${name}, which loadAssets did not load`);
    return `/docs/${name}?v=${a.version}`;
  };
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hookshot API reference</title>
<link rel="stylesheet" href="${href('swagger-ui.css')}">
<link rel="stylesheet" href="${href('index.css')}">
<link rel="icon" type="image/png" sizes="32x32" href="${href('favicon-32x32.png')}">
<link rel="icon" type="image/png" sizes="16x16" href="${href('favicon-16x16.png')}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${href('swagger-ui-bundle.js')}"></script>
<script src="${href('init.js')}"></script>
</body>
</html>
`;
  return asset('text/html; charset=utf-8', Buffer.from(html));
}

function send(ctx: Ctx, a: Asset, cacheControl: string) {
  ctx.set('Content-Security-Policy', DOCS_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Cache-Control', cacheControl);
  ctx.set('ETag', a.etag);
  ctx.type = a.type;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = a.body;
}

/** GET /docs and its assets; public, like /openapi.json. */
export function docsRoutes(): Router<AppState> {
  // Read once at boot: a missing package stops the API rather than failing later.
  const assets = loadAssets();
  const html = page(assets);
  const r = new Router<AppState>({ sensitive: true });
  // The page names the current asset versions, so it is revalidated every time.
  r.get('/docs', (ctx) => send(ctx, html, 'no-cache'));
  r.get('/docs/:asset', (ctx) => {
    const a = assets.get(ctx.params.asset);
    if (!a) throw new AppError('ERR::API::NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
    send(ctx, a, 'public, max-age=86400');
  });
  return r;
}
