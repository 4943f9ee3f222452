// The `html` format of a crawl page, its main content, and its title, from
// one htmlparser2 DOM. htmlparser2 (already used by links.ts) builds a plain
// tree without the browser's implied <html>/<head>/<body>: a fragment stays a
// fragment, which the rules below account for.
//
// The main-content rule (Firecrawl's onlyMainContent), in order:
//   1. the first element in document order that is <main> or has
//      role="main" (ARIA landmarks: the page's author said where the content
//      is, so it is taken whole, asides and all);
//   2. else every <article> that is not inside another <article>, in order;
//   3. else <body> (the whole document when there is no <body> element) with
//      every <header>, <nav>, <footer> and <aside> removed, wherever they are,
//      and, when there is no <body>, the <head> too.
// Firecrawl also strips class-name heuristics (`.sidebar`, `#cookie-banner`…);
// we do not: those guesses remove real content on some sites, and the rule
// above is one a user can predict from the page's markup.
//
// Always removed, main content or not: <script>, <style>, <noscript> and
// comments. They are code, styling, fallbacks for a browser without
// JavaScript, and notes, never the page's content.
import { parseDocument, DomUtils } from 'htmlparser2';
import type { AnyNode, Document, Element, ParentNode } from 'domhandler';

const ALWAYS_REMOVED = new Set(['script', 'style', 'noscript']);
const CHROME = new Set(['header', 'nav', 'footer', 'aside']);
const HEAD_ONLY = new Set(['head', 'title', 'meta', 'link', 'base']);

// Elements are type 'tag', 'script' or 'style' in domhandler.
const isElement = (n: AnyNode): n is Element => n.type === 'tag' || n.type === 'script' || n.type === 'style';
const hasChildren = (n: AnyNode): n is ParentNode & AnyNode => 'children' in n && Array.isArray((n as ParentNode).children);

/** Every node under `root`, depth-first in document order, without recursion (pages may nest deeply). */
function* walk(root: ParentNode): Generator<AnyNode> {
  const stack: AnyNode[] = [...root.children].reverse();
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    yield n;
    if (hasChildren(n)) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
}

function removeWhere(root: ParentNode, test: (n: AnyNode) => boolean): void {
  // Collected first: removing while walking would skip siblings.
  const doomed = [...walk(root)].filter(test);
  for (const n of doomed) DomUtils.removeElement(n);
}

function hasAncestorNamed(n: AnyNode, name: string): boolean {
  for (let p = n.parent; p !== null; p = p.parent) if (isElement(p) && p.name === name) return true;
  return false;
}

function render(nodes: AnyNode | AnyNode[]): string {
  // 'utf8': only markup characters become entities; the text stays readable
  // rather than turning every non-ASCII letter into &#x…;.
  return DomUtils.getOuterHTML(nodes, { encodeEntities: 'utf8' }).trim();
}

/**
 * Element nesting a page may have and still be parsed and converted. Real
 * pages nest a few dozen levels; turndown's DOM (domino) overflows Node's
 * default stack near 2,000, so this leaves room for the caller's own frames.
 */
export const MAX_HTML_NESTING = 512;

// Void elements never nest; elements whose end tag is optional are closed
// implicitly by parsers (a run of <p> or <li> is flat), so neither counts.
const NEVER_NEST = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'source',
  'track',
  'wbr',
  'param',
  'keygen',
  'html',
  'head',
  'body',
  'p',
  'li',
  'dt',
  'dd',
  'option',
  'optgroup',
  'tr',
  'td',
  'th',
  'thead',
  'tbody',
  'tfoot',
  'colgroup',
  'caption',
  'rb',
  'rt',
  'rtc',
  'rp',
]);
// Their content is text, not markup, up to their end tag.
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'plaintext']);
// A closing tag pops to its element only when that is this close to the top:
// `</span>` with no span open must not undo a thousand open <div>s.
const CLOSE_SEARCH = 32;

/**
 * Whether the page nests elements deeper than `max`, by one linear scan that
 * approximates what the parser will build. Deep nesting is what makes the
 * parsers and serializers slow (htmlparser2's open-element stack costs
 * O(depth) per tag: a 10 MB page of 2 million <div>s would take hours) or
 * overflow the call stack (dom-serializer and turndown recurse): a hostile
 * page must be refused before, not during, that work. Real pages stay far
 * below MAX_HTML_NESTING even when they forget end tags.
 */
export function exceedsNesting(html: string, max: number = MAX_HTML_NESTING): boolean {
  const tag = /<!--|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/g;
  const stack: string[] = [];
  // Open <svg>/<math>: inside them `<path/>` closes itself (in HTML `<div/>` does not).
  let foreign = 0;
  const isForeign = (n: string) => n === 'svg' || n === 'math';
  for (let m = tag.exec(html); m !== null; m = tag.exec(html)) {
    if (m[0] === '<!--') {
      const end = html.indexOf('-->', tag.lastIndex);
      if (end === -1) return false;
      tag.lastIndex = end + 3;
      continue;
    }
    const gt = html.indexOf('>', tag.lastIndex);
    if (gt === -1) return false;
    const selfClosing = html.charCodeAt(gt - 1) === 0x2f; // '/'
    tag.lastIndex = gt + 1;
    const name = m[2].toLowerCase();
    if (NEVER_NEST.has(name)) continue;
    if (m[1] === '/') {
      for (let i = stack.length - 1; i >= Math.max(0, stack.length - CLOSE_SEARCH); i--) {
        if (stack[i] !== name) continue;
        for (let j = i; j < stack.length; j++) if (isForeign(stack[j])) foreign--;
        stack.length = i;
        break;
      }
      continue;
    }
    if (selfClosing && foreign > 0) continue;
    if (RAW_TEXT.has(name)) {
      const close = new RegExp(`</${name}[\\s/>]`, 'gi');
      close.lastIndex = tag.lastIndex;
      if (close.exec(html) === null) return false;
      tag.lastIndex = close.lastIndex;
      continue;
    }
    stack.push(name);
    if (isForeign(name)) foreign++;
    if (stack.length > max) return true;
  }
  return false;
}

export interface ParsedHtml {
  doc: Document;
}

/** Parses a page; the tree is then cleaned in place by the functions below. */
export function parseHtml(html: string): ParsedHtml {
  return { doc: parseDocument(html, { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true }) };
}

/** The first <title>'s text outside SVG, whitespace collapsed; undefined when there is none or it is blank. */
export function pageTitle(page: ParsedHtml): string | undefined {
  for (const n of walk(page.doc)) {
    if (isElement(n) && n.name === 'title' && !hasAncestorNamed(n, 'svg')) {
      const t = DomUtils.textContent(n).replace(/\s+/g, ' ').trim();
      return t === '' ? undefined : t;
    }
  }
  return undefined;
}

/** What a page says about itself in its markup (a Scrapfly crawler's page_metadata). */
export interface PageMetadata {
  /** <meta name="description">. */
  description?: string;
  /** <link rel="canonical">, resolved against the page URL. */
  canonical?: string;
  /** <html lang>, else <meta http-equiv="content-language">. */
  language?: string;
  /** <meta name="robots">. */
  robots?: string;
  /** <meta property="og:…">, by property (the first of each). */
  openGraph: Record<string, string>;
}

/** The page's own metadata; the first of each kind wins, blank values are ignored. Call before cleaning. */
export function pageMetadata(page: ParsedHtml, pageUrl: string): PageMetadata {
  const out: PageMetadata = { openGraph: {} };
  let httpLanguage: string | undefined;
  const text = (v: string | undefined) => {
    const t = (v ?? '').replace(/\s+/g, ' ').trim();
    return t === '' ? undefined : t;
  };
  for (const n of walk(page.doc)) {
    if (!isElement(n)) continue;
    const a = n.attribs;
    if (n.name === 'html') out.language ??= text(a.lang);
    else if (n.name === 'meta') {
      const name = (a.name ?? '').trim().toLowerCase();
      const content = text(a.content);
      if (content === undefined) continue;
      if (name === 'description') out.description ??= content;
      else if (name === 'robots') out.robots ??= content;
      const property = (a.property ?? '').trim().toLowerCase();
      if (property.startsWith('og:')) out.openGraph[property] ??= content;
      if ((a['http-equiv'] ?? '').trim().toLowerCase() === 'content-language') httpLanguage ??= content;
    } else if (n.name === 'link' && out.canonical === undefined && (a.rel ?? '').toLowerCase().split(/\s+/).includes('canonical')) {
      try {
        const u = new URL(a.href ?? '', pageUrl);
        if (a.href && (u.protocol === 'http:' || u.protocol === 'https:')) out.canonical = u.href;
      } catch {
        // An unusable canonical is no canonical.
      }
    }
  }
  out.language ??= httpLanguage;
  return out;
}

/** Removes <script>, <style>, <noscript> and comments; returns the whole document as HTML. */
export function cleanDocument(page: ParsedHtml): string {
  removeWhere(page.doc, (n) => n.type === 'comment' || (isElement(n) && ALWAYS_REMOVED.has(n.name)));
  return render(page.doc.children);
}

/** The main content as an HTML fragment (the rule in the header comment). Call after cleanDocument. */
export function mainContent(page: ParsedHtml): string {
  const { doc } = page;
  for (const n of walk(doc)) {
    if (isElement(n) && (n.name === 'main' || (n.attribs.role ?? '').trim().toLowerCase() === 'main')) return render(n);
  }
  const articles: Element[] = [];
  for (const n of walk(doc)) if (isElement(n) && n.name === 'article' && !hasAncestorNamed(n, 'article')) articles.push(n);
  if (articles.length > 0) return articles.map((a) => render(a)).join('\n');

  let body: Element | null = null;
  for (const n of walk(doc)) {
    if (isElement(n) && n.name === 'body') {
      body = n;
      break;
    }
  }
  const root: ParentNode = body ?? doc;
  removeWhere(root, (n) => isElement(n) && (CHROME.has(n.name) || (body === null && HEAD_ONLY.has(n.name))));
  if (body === null) removeWhere(root, (n) => n.type === 'directive');
  return render(root.children);
}
