// A loopback site for crawl tests. Every page, link and rule comes from one
// graph definition (buildGraph), which both the server renders and
// expectedPaths() walks, so what a test expects a crawler to find cannot drift
// from what the site serves. The walk resolves hrefs with the WHATWG URL
// parser only: it shares no code with src/crawl, so it is an independent
// oracle rather than a copy of the crawler's own logic.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CrawlSiteOptions {
  /** How many /p/N pages (the bulk of the site). Default 190: about 240 crawlable pages in all. */
  pages?: number;
  /** robots.txt: the rules (default), or a 404 (RFC 9309: all allowed) or 500 (all disallowed). */
  robots?: 'rules' | 404 | 500;
  /** How long /slow takes to answer, ms. Default 1500. */
  slowMs?: number;
  /** Every page request waits this long before it is answered, ms. Default 0. */
  holdMs?: number;
  /** Start with the gate closed: page requests wait until release(). Default false. */
  hold?: boolean;
}

/** One resource of the site. Hrefs are kept exactly as the HTML spells them. */
export interface PageDef {
  /** Request target, query in canonical order (see canonicalTarget). */
  path: string;
  status: 200 | 302 | 500;
  title: string;
  links: string[];
  /** `<base href>` of the page, when it has one. */
  base?: string;
  /** Location of a 302. */
  location?: string;
  /** A non-HTML body (the PDF). */
  binary?: { contentType: string; body: Buffer };
}

export interface ExpectOptions {
  /** Honour robots.txt as the site serves it (RFC 9309 on 404/500). Default true. */
  robots?: boolean;
  /** Add the same-host URLs of /sitemap.xml as seeds. Default true. */
  sitemap?: boolean;
  /** Link hops from `/` (sitemap seeds count as 1). Default unlimited. */
  maxDepth?: number;
  /** Extra filter (includePaths and the like): a target it refuses is neither fetched nor followed. `/` always is. */
  follow?: (path: string) => boolean;
}

export interface Expected {
  /** Request targets a crawl from `/` fetches (robots.txt and sitemap.xml aside), canonical form. */
  pages: Set<string>;
  /** Link hops from `/` of each of them (sitemap seeds: 1, unless a link is shorter). */
  depth: Map<string, number>;
}

export interface CrawlLogEntry {
  /** Request target as received (path and query). */
  path: string;
  /** Host header: `127.0.0.1:<port>` for the site itself, `localhost:<port>` for the "external" name. */
  host: string;
  at: number;
  userAgent: string | undefined;
}

const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  'latin1',
);

const DEEP = 12;
const SECTION = 10;
const SITEMAP_ONLY = 5;
const PRIVATE_DIR = '/private/';

/**
 * The same resource for every spelling a crawler must treat as one: fragment
 * dropped, query parameters sorted by name (stable, so repeated names keep
 * their order). `/p/4?b=2&a=1#x` → `/p/4?a=1&b=2`.
 */
export function canonicalTarget(target: string): string {
  const noFragment = target.split('#')[0]!;
  const q = noFragment.indexOf('?');
  if (q === -1) return noFragment;
  const pieces = noFragment
    .slice(q + 1)
    .split('&')
    .filter((p) => p !== '');
  const name = (p: string) => p.split('=')[0]!;
  pieces.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  return pieces.length ? `${noFragment.slice(0, q)}?${pieces.join('&')}` : noFragment.slice(0, q);
}

/**
 * The whole site for `origin` (http://127.0.0.1:port) and `external`
 * (http://localhost:port, the same server under a name a crawl of `origin`
 * must treat as another host).
 */
export function buildGraph(origin: string, external: string, pages = 190) {
  // The special links sit on /p/1 to /p/6 and the redirect lands on /p/7.
  if (!Number.isInteger(pages) || pages < 7) throw new RangeError(`crawl site needs at least 7 /p/N pages, not ${pages}`);
  const graph = new Map<string, PageDef>();
  const add = (path: string, links: string[], extra: Partial<PageDef> = {}) =>
    graph.set(path, { path, status: 200, title: `Page ${path}`, links, ...extra });
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const privates = ['/private/', '/private/1', '/private/2', '/private/3', '/private/sitemap-listed'];
  const externals: string[] = [];

  // Relative (`p/2`), root-relative and absolute spellings all in one place.
  add('/', ['/p/1', 'p/2', '/blog/', `${origin}/docs/`, '/deep/1', '/private/', '#content', '/']);
  for (const n of range(pages)) {
    const links = ['/', '#content'];
    if (2 * n <= pages) links.push(String(2 * n)); // relative to /p/n
    if (2 * n + 1 <= pages) links.push(`${origin}/p/${2 * n + 1}`);
    if (n > 1) links.push(`../p/${n - 1}`); // a cycle: every page links back
    if (n % 10 === 0) links.push('/p/3#top');
    if (n % 25 === 0) links.push(`/private/${((n / 25) % 3) + 1}`);
    if (n % 40 === 0) {
      externals.push(`${external}/external/${n / 40}`);
      links.push(externals[externals.length - 1]!);
    }
    const special: Record<number, string[]> = {
      1: ['/moved'],
      2: ['/p/4?b=2&a=1', '/error'],
      3: ['/p/4?a=1&b=2', '/slow'],
      5: ['/base-test/'],
      6: ['/file.pdf'],
    };
    links.push(...(special[n] ?? []));
    add(`/p/${n}`, links);
  }
  add('/p/4?a=1&b=2', ['/', '/p/4']);
  add('/moved', [], { status: 302, location: '/p/7' });
  add('/error', ['/'], { status: 500 });
  add('/slow', ['/']);
  // With the base, `from-base` is /docs/from-base; without, /base-test/from-base (a 404).
  add('/base-test/', ['from-base', '/'], { base: '/docs/' });
  add('/file.pdf', [], { binary: { contentType: 'application/pdf', body: PDF } });

  add('/blog/', [...range(SECTION).map((k) => `post-${k}`), '/']);
  for (const k of range(SECTION))
    add(`/blog/post-${k}`, ['/blog/', '/', ...(k < SECTION ? [`post-${k + 1}`] : []), ...(k === 1 ? ['/docs/guide-1'] : [])]);
  add('/docs/', [...range(SECTION).map((k) => `guide-${k}`), '/']);
  for (const k of range(SECTION)) add(`/docs/guide-${k}`, ['/docs/', '/', ...(k < SECTION ? [`./guide-${k + 1}`] : [])]);
  add('/docs/from-base', ['/docs/', '/']);

  // Reachable from / only down the chain, so /deep/k is exactly k hops away.
  for (const k of range(DEEP)) add(`/deep/${k}`, ['/', ...(k < DEEP ? [`/deep/${k + 1}`] : [])]);

  for (const p of privates) add(p, ['/', ...privates.filter((q) => q !== p), '/behind-private']);
  // Not disallowed itself, but linked only from disallowed pages.
  add('/behind-private', ['/']);

  for (const k of range(SITEMAP_ONLY)) add(`/only-in-sitemap/${k}`, ['/']);
  for (const u of [...externals, `${external}/external/sitemap`]) add(new URL(u).pathname, ['/']);

  const sitemap = [
    ...['/', '/blog/', '/docs/', '/p/1', `/p/${pages}`, ...range(SITEMAP_ONLY).map((k) => `/only-in-sitemap/${k}`), '/private/sitemap-listed'].map(
      (p) => origin + p,
    ),
    `${external}/external/sitemap`, // another host: scope must drop it
  ];

  return {
    graph,
    sitemap,
    externals,
    paths: {
      slow: '/slow',
      error: '/error',
      redirect: '/moved',
      redirectTarget: '/p/7',
      pdf: '/file.pdf',
      base: '/base-test/',
      baseTarget: '/docs/from-base',
      baseTrap: '/base-test/from-base',
      queryVariant: '/p/4?a=1&b=2',
      behindPrivate: '/behind-private',
      deep: range(DEEP).map((k) => `/deep/${k}`),
      blog: ['/blog/', ...range(SECTION).map((k) => `/blog/post-${k}`)],
      docs: ['/docs/', ...range(SECTION).map((k) => `/docs/guide-${k}`), '/docs/from-base'],
      private: privates,
      sitemapOnly: range(SITEMAP_ONLY).map((k) => `/only-in-sitemap/${k}`),
    },
  };
}

type Graph = ReturnType<typeof buildGraph>;

/** The same-origin targets a page leads to: its links (resolved as a browser would) or its redirect. */
export function outLinks(def: PageDef, origin: string): string[] {
  const pageUrl = new URL(def.path, origin);
  if (def.status === 302) return def.location ? [new URL(def.location, pageUrl).href] : [];
  if (def.status !== 200) return [];
  const base = def.base ? new URL(def.base, pageUrl) : pageUrl;
  return def.links.map((href) => new URL(href, base).href);
}

function walk(site: Graph, origin: string, robotsStatus: CrawlSiteOptions['robots'], opts: ExpectOptions): Expected {
  const honour = opts.robots ?? true;
  const pages = new Set<string>();
  const depth = new Map<string, number>();
  if (honour && robotsStatus === 500) return { pages, depth }; // RFC 9309: 5xx means disallow all
  const allowed = (path: string) => !(honour && robotsStatus !== 404 && path.startsWith(PRIVATE_DIR));
  const inScope = (url: string): string | null => {
    const u = new URL(url);
    if (u.origin !== origin) return null;
    const target = canonicalTarget(u.pathname + u.search);
    return allowed(target) && (opts.follow?.(target) ?? true) ? target : null;
  };
  // Breadth first (depths in the queue never decrease), so a target's first visit is at its least depth.
  const queue: Array<[string, number]> = [['/', 0]];
  for (const u of opts.sitemap === false ? [] : site.sitemap) {
    const t = inScope(u);
    if (t !== null) queue.push([t, 1]);
  }
  for (let i = 0; i < queue.length; i++) {
    const [path, d] = queue[i]!;
    if (depth.has(path)) continue;
    if (opts.maxDepth !== undefined && d > opts.maxDepth) continue;
    const def = site.graph.get(path);
    if (!def) throw new Error(`crawl site graph links to ${path}, which it does not define`);
    depth.set(path, d);
    pages.add(path);
    for (const u of outLinks(def, origin)) {
      const t = inScope(u);
      if (t !== null && !depth.has(t)) queue.push([t, d + 1]);
    }
  }
  return { pages, depth };
}

function renderPage(def: PageDef): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  let h = 0;
  for (const c of def.path) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const text = Array.from({ length: 12 }, (_, i) => words[(h + i * 7) % words.length]).join(' ');
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>${esc(def.title)}</title>` +
    (def.base ? `<base href="${esc(def.base)}">` : '') +
    `</head><body><h1 id="content">${esc(def.title)}</h1>` +
    `<p>This is ${esc(def.path)} on the Hookshot crawl test site. Its words: <strong>${text}</strong>.</p>` +
    `<ul>${def.links.map((l, i) => `<li><a href="${esc(l)}">link ${i + 1}</a></li>`).join('')}</ul>` +
    `<p id="top">The end of ${esc(def.path)}.</p></body></html>`
  );
}

/**
 * Starts the site on 127.0.0.1, port 0. `url` ends in `/`; `host` is
 * `127.0.0.1:<port>`. robots.txt and sitemap.xml are answered at once; every
 * other request is a "page request": it waits for `holdMs` and for the gate
 * (hold()/release()), and counts towards `inFlight` and `peakInFlight`.
 */
export async function startCrawlSite(opts: CrawlSiteOptions = {}) {
  const robots = opts.robots ?? 'rules';
  const hits = new Map<string, number>();
  const log: CrawlLogEntry[] = [];
  let gateOpen = !opts.hold;
  let gated: Array<() => void> = [];
  let inFlight = 0;
  let peakInFlight = 0;
  let inFlightWaiters: Array<{ n: number; resolve: () => void }> = [];
  let site!: Graph;
  let origin = '';

  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (res.destroyed) return; // the client gave up while the request was held
    const target = canonicalTarget(req.url ?? '/');
    const def = site.graph.get(target);
    if (!def) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<!doctype html><title>Not found</title><h1>Not found</h1>');
    }
    if (def.status === 302) {
      res.writeHead(302, { location: def.location! });
      return res.end();
    }
    if (def.binary) {
      res.writeHead(200, { 'content-type': def.binary.contentType, 'content-length': def.binary.body.length });
      return res.end(def.binary.body);
    }
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(def.status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(renderPage(def));
    };
    if (def.path === '/slow') setTimeout(send, opts.slowMs ?? 1500);
    else send();
  };

  const server = http.createServer((req, res) => {
    const target = req.url ?? '/';
    hits.set(target, (hits.get(target) ?? 0) + 1);
    log.push({ path: target, host: req.headers.host ?? '', at: Date.now(), userAgent: req.headers['user-agent'] });
    const pathname = target.split('?')[0];
    if (pathname === '/robots.txt') {
      if (robots !== 'rules') {
        res.writeHead(robots, { 'content-type': 'text/plain' });
        return res.end(robots === 404 ? 'no robots here' : 'robots.txt is broken today');
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(`User-agent: *\nDisallow: ${PRIVATE_DIR}\n\nSitemap: ${origin}/sitemap.xml\n`);
    }
    if (pathname === '/sitemap.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      return res.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' +
          site.sitemap.map((u) => `  <url><loc>${u.replace(/&/g, '&amp;')}</loc></url>\n`).join('') +
          '</urlset>\n',
      );
    }
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    for (const w of inFlightWaiters.filter((w) => inFlight >= w.n)) w.resolve();
    inFlightWaiters = inFlightWaiters.filter((w) => inFlight < w.n);
    // 'close' fires once whether the answer was sent or the client went away.
    res.on('close', () => inFlight--);
    const afterGate = () => (gateOpen ? answer(req, res) : gated.push(() => answer(req, res)));
    if (opts.holdMs) setTimeout(afterGate, opts.holdMs);
    else afterGate();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  let expected: Expected;
  try {
    site = buildGraph(origin, `http://localhost:${port}`, opts.pages);
    expected = walk(site, origin, robots, {});
  } catch (err) {
    server.close(); // a broken graph must fail the test, not keep its process alive
    throw err;
  }

  const release = () => {
    gateOpen = true;
    const waiting = gated;
    gated = [];
    for (const go of waiting) go();
  };
  const expectedPaths = (o: ExpectOptions = {}) => walk(site, origin, robots, o);

  return {
    url: `${origin}/`,
    host: `127.0.0.1:${port}`,
    /** The same server under another host name, external to a crawl of `url`. */
    externalOrigin: `http://localhost:${port}`,
    /** Requests per request target as received (path and query), robots.txt and sitemap.xml included. */
    hits,
    /** Every request, in arrival order. */
    log,
    /** The page definitions, keyed by canonical request target. */
    graph: site.graph as ReadonlyMap<string, PageDef>,
    /** Absolute URLs /sitemap.xml lists (one is on the external host, one is disallowed). */
    sitemapUrls: site.sitemap,
    /** External (localhost) URLs that pages link to. */
    externalUrls: site.externals,
    /** Paths of the special pages, for targeted assertions. */
    paths: site.paths,
    /** What a crawl from `url` with the default options (same host, robots honoured, sitemap used) fetches. */
    expected,
    /** The same for other crawl options. */
    expectedPaths,
    /** Canonical targets fetched on this host (not `localhost`), robots.txt and sitemap.xml aside. */
    fetchedPages(): Set<string> {
      const own = `127.0.0.1:${port}`;
      return new Set(
        log.filter((e) => e.host === own && !['/robots.txt', '/sitemap.xml'].includes(e.path.split('?')[0]!)).map((e) => canonicalTarget(e.path)),
      );
    },
    /** Page requests being handled now. */
    get inFlight() {
      return inFlight;
    },
    /** The most page requests ever in flight at once (since start or resetPeak). */
    get peakInFlight() {
      return peakInFlight;
    },
    resetPeak() {
      peakInFlight = inFlight;
    },
    /** Close the gate: page requests arriving from now on wait for release(). */
    hold() {
      gateOpen = false;
    },
    /** Open the gate and answer every request it held. */
    release,
    /** Resolves once at least n page requests are in flight at the same time. */
    waitForInFlight(n: number, timeoutMs = 30_000): Promise<void> {
      if (inFlight >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`crawl site saw ${inFlight} of ${n} page requests in flight in ${timeoutMs} ms`)), timeoutMs);
        inFlightWaiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
    close: () =>
      new Promise<void>((r) => {
        release();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export type CrawlSite = Awaited<ReturnType<typeof startCrawlSite>>;
