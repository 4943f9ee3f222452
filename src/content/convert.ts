// Turning a fetched body into what the job asked for: charset detection and
// decoding, HTML → plain text, HTML → markdown, JSON. Pure functions, no I/O.
import { isUtf8 } from 'node:buffer';
import { MIMEType } from 'node:util';
import sniffHtmlEncoding from 'html-encoding-sniffer';
import { decode, getBOMEncoding, labelToName } from 'whatwg-encoding';
import { convert as htmlToTextConvert, type HtmlToTextOptions } from 'html-to-text';
import TurndownService from 'turndown';
import { tables as gfmTables } from 'turndown-plugin-gfm';

export type ConvertFormat = 'raw' | 'text' | 'markdown' | 'json';

export interface DecodedBody {
  text: string;
  /** Canonical WHATWG encoding name actually used, lowercase (e.g. 'utf-8', 'windows-1252', 'shift_jis'). */
  charset: string;
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; error: string };

export interface ConvertedContent {
  /** The converted text; base64 of the bytes for binary bodies; null only for a binary body asked for as JSON. */
  content: string | null;
  /** The parsed value, for format 'json' when the body is JSON. */
  json?: unknown;
  /** Encoding used to decode the body, or 'binary' when content is base64. */
  charset: string;
  error?: { code: string; message: string };
}

export const NOT_JSON = 'ERR::SCRAPE::NOT_JSON';

// ---------------------------------------------------------------------------
// Content types

/** The lowercase `type/subtype` of a Content-Type header, or null. */
export function mimeType(contentType: string | null): string | null {
  if (!contentType) return null;
  const m = contentType.split(';', 1)[0].trim().toLowerCase();
  return m === '' ? null : m;
}

export function isHtmlMime(mime: string | null): boolean {
  return mime === 'text/html' || mime === 'application/xhtml+xml';
}

function isXmlMime(mime: string | null): boolean {
  return mime !== null && (mime.endsWith('/xml') || mime.endsWith('+xml'));
}

const BINARY_APPLICATION = new Set([
  'application/octet-stream',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'application/x-gzip',
  'application/x-bzip2',
  'application/x-xz',
  'application/zstd',
  'application/x-tar',
  'application/x-7z-compressed',
  'application/x-rar-compressed',
  'application/vnd.rar',
  'application/java-archive',
  'application/wasm',
  'application/msword',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
  'application/x-protobuf',
  'application/vnd.google.protobuf',
  'application/x-msgpack',
  'application/msgpack',
  'application/vnd.sqlite3',
  'application/x-shockwave-flash',
]);

/** True for content types whose bodies are bytes, not text (images, audio, PDF, archives...). */
export function isBinaryMime(mime: string | null): boolean {
  if (mime === null) return false;
  if (mime === 'image/svg+xml') return false; // SVG is XML text
  if (/^(image|audio|video|font)\//.test(mime)) return true;
  if (mime.startsWith('application/vnd.openxmlformats-officedocument.')) return true;
  if (mime.startsWith('application/vnd.oasis.opendocument.')) return true;
  return BINARY_APPLICATION.has(mime);
}

export function looksLikeHtml(body: Buffer): boolean {
  const head = body.subarray(0, 1024).toString('latin1');
  return /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)[\s>/]/i.test(head);
}

function looksLikeXml(body: Buffer): boolean {
  return /^\s*<\?xml[\s?]/.test(body.subarray(0, 64).toString('latin1'));
}

/** Without a content type: a NUL byte early on means bytes, not text. */
export function looksBinary(body: Buffer): boolean {
  if (getBOMEncoding(body) !== null) return false;
  return body.subarray(0, 1024).includes(0);
}

// ---------------------------------------------------------------------------
// Charset detection and decoding

/** The charset parameter of a Content-Type, read by WHATWG MIME type rules. */
function headerLabel(contentType: string | null): string | null {
  if (!contentType) return null;
  try {
    return new MIMEType(contentType).params.get('charset');
  } catch {
    return null;
  }
}

// Returned by the sniffer when no <meta> names an encoding (BOM and header are checked before it).
const NO_META = '';

function xmlDeclEncoding(body: Buffer): string | null {
  const m = /^\s*<\?xml\s[^>]*?encoding\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(body.subarray(0, 1024).toString('latin1'));
  const name = m ? labelToName(m[1] ?? m[2] ?? '') : null;
  // A declaration readable as ASCII was not written in UTF-16.
  return name === 'UTF-16LE' || name === 'UTF-16BE' ? 'UTF-8' : name;
}

/**
 * Decodes a response body. The encoding comes from, in order: a BOM; the
 * Content-Type charset; for HTML a <meta> charset in the first 1024 bytes
 * (the HTML standard's prescan); for HTML and XML the <?xml encoding?>
 * declaration; else UTF-8 if the bytes are valid UTF-8, else windows-1252.
 * A label whatwg-encoding does not know is skipped.
 */
export function decodeBody(body: Buffer, contentType: string | null): DecodedBody {
  const mime = mimeType(contentType);
  const html = isHtmlMime(mime) || (mime === null && looksLikeHtml(body));
  const xml = isXmlMime(mime) || (mime === null && looksLikeXml(body));
  const label = headerLabel(contentType);
  const encoding =
    getBOMEncoding(body) ??
    (label === null ? null : labelToName(label)) ??
    (html ? sniffHtmlEncoding(body, { defaultEncoding: NO_META }) || null : null) ??
    (html || xml ? xmlDeclEncoding(body) : null) ??
    (isUtf8(body) ? 'UTF-8' : 'windows-1252');
  // Not TextDecoder: Node's decodes windows-1252 0x80–0x9F as C1 controls
  // (nodejs/node#56542); iconv-lite gives € “ ” … and U+FFFD for the five
  // unassigned bytes.
  return { text: decode(body, encoding), charset: encoding.toLowerCase() };
}

// ---------------------------------------------------------------------------
// HTML → text

const SKIPPED_TAGS = [
  'script',
  'style',
  'noscript',
  'template',
  'head',
  'title',
  'meta',
  'link',
  'iframe',
  'object',
  'embed',
  'svg',
  'canvas',
] as const;

const TEXT_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    ...SKIPPED_TAGS.map((selector) => ({ selector, format: 'skip' })),
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { ignoreHref: true } },
    ...(['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((selector) => ({ selector, options: { uppercase: false } })),
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false, maxColumnWidth: 200 } },
    { selector: 'ul', options: { itemPrefix: '- ' } },
    { selector: 'hr', format: 'skip' },
  ],
};

/** Readable plain text: no tags, no script/style contents, blocks on their own lines, links as their text. */
export function htmlToText(html: string): string {
  const raw = htmlToTextConvert(html, TEXT_OPTIONS);
  return raw
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// ---------------------------------------------------------------------------
// HTML → markdown

/** The few DOM members the rules below read (turndown hands us domino nodes). */
interface DomNode {
  nodeName: string;
  parentNode: DomNode | null;
  firstChild: DomNode | null;
  previousSibling: DomNode | null;
  nextSibling: DomNode | null;
  childNodes: ArrayLike<DomNode>;
  children: ArrayLike<DomNode>;
  textContent: string | null;
  rows?: ArrayLike<DomNode>;
  getAttribute(name: string): string | null;
}

const dom = (n: unknown): DomNode => n as DomNode;

function resolveUrl(href: string, baseUrl: string | undefined): string {
  const h = href.trim();
  if (baseUrl === undefined) return h;
  try {
    return new URL(h, baseUrl).href;
  } catch {
    return h;
  }
}

function escapeDestination(url: string): string {
  return url.replace(/\s/g, (c) => encodeURIComponent(c)).replace(/([<>()])/g, '\\$1');
}

function titlePart(node: DomNode): string {
  const t = (node.getAttribute('title') ?? '').replace(/\s+/g, ' ').trim();
  return t ? ` "${t.replace(/"/g, '\\"')}"` : '';
}

// Same test as turndown-plugin-gfm: a header row is in THEAD, or the first
// row of the table / first TBODY with every cell a TH.
function isHeadingRow(tr: DomNode | undefined): boolean {
  if (!tr || !tr.parentNode) return false;
  const parent = tr.parentNode;
  if (parent.nodeName === 'THEAD') return true;
  if (parent.firstChild !== tr) return false;
  const firstTbody =
    parent.nodeName === 'TBODY' &&
    (!parent.previousSibling || (parent.previousSibling.nodeName === 'THEAD' && /^\s*$/.test(parent.previousSibling.textContent ?? '')));
  if (parent.nodeName !== 'TABLE' && !firstTbody) return false;
  return Array.prototype.every.call(tr.childNodes, (n: DomNode) => n.nodeName === 'TH');
}

function createTurndown(baseUrl: string | undefined): TurndownService {
  const td = new TurndownService({
    headingStyle: 'atx',
    bulletListMarker: '-',
    codeBlockStyle: 'fenced',
    fence: '```',
    emDelimiter: '*',
    strongDelimiter: '**',
    hr: '---',
    linkStyle: 'inlined',
  });
  td.use(gfmTables);
  td.remove([...SKIPPED_TAGS]);

  // Rules added later win over earlier ones and over the plugin's.
  td.addRule('hookshotListItem', {
    filter: 'li',
    replacement: (content, n) => {
      const node = dom(n);
      const parent = node.parentNode;
      let prefix = '- ';
      if (parent && parent.nodeName === 'OL') {
        const startAttr = (parent.getAttribute('start') ?? '').trim();
        const start = /^-?\d+$/.test(startAttr) ? parseInt(startAttr, 10) : 1;
        const index = Array.prototype.indexOf.call(parent.children, node);
        prefix = `${start + index}. `;
      }
      const isParagraph = /\n$/.test(content);
      const body = content.replace(/^\n+/, '').replace(/\n+$/, '') + (isParagraph ? '\n' : '');
      const indented = body.replace(/\n(?=.)/g, '\n' + ' '.repeat(prefix.length));
      return prefix + indented + (node.nextSibling ? '\n' : '');
    },
  });

  td.addRule('hookshotLink', {
    filter: (n) => {
      const node = dom(n);
      return node.nodeName === 'A' && !!node.getAttribute('href');
    },
    replacement: (content, n) => {
      const node = dom(n);
      const text = content.trim();
      const href = resolveUrl(node.getAttribute('href') ?? '', baseUrl);
      if (/^javascript:/i.test(href)) return content;
      if (text === '') return '';
      return `[${text}](${escapeDestination(href)}${titlePart(node)})`;
    },
  });

  td.addRule('hookshotImage', {
    filter: 'img',
    replacement: (_content, n) => {
      const node = dom(n);
      const src = node.getAttribute('src');
      if (!src || /^data:/i.test(src.trim())) return '';
      const alt = (node.getAttribute('alt') ?? '')
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/([[\]\\])/g, '\\$1');
      return `![${alt}](${escapeDestination(resolveUrl(src, baseUrl))}${titlePart(node)})`;
    },
  });

  // <pre> without a <code> child: still a fenced block.
  td.addRule('hookshotPre', {
    filter: (n) => {
      const node = dom(n);
      return node.nodeName === 'PRE' && !(node.firstChild && node.firstChild.nodeName === 'CODE');
    },
    replacement: (_content, n) => {
      const code = (dom(n).textContent ?? '').replace(/\n$/, '');
      const fence = code.includes('```') ? '~~~~' : '```';
      return `\n\n${fence}\n${code}\n${fence}\n\n`;
    },
  });

  // Cells on one line with pipes escaped, so a cell can't break the row.
  td.addRule('hookshotTableCell', {
    filter: ['th', 'td'],
    replacement: (content, n) => {
      const node = dom(n);
      const index = node.parentNode ? Array.prototype.indexOf.call(node.parentNode.childNodes, node) : 0;
      const cell = content
        .replace(/\s*\n+\s*/g, ' ')
        .trim()
        .replace(/\|/g, '\\|');
      return (index === 0 ? '| ' : ' ') + cell + ' |';
    },
  });

  // Tables without a header row (the plugin would keep them as HTML) get
  // their first row as header; empty tables vanish.
  td.addRule('hookshotTable', {
    filter: (n) => {
      const node = dom(n);
      return node.nodeName === 'TABLE' && !isHeadingRow(node.rows?.[0]);
    },
    replacement: (content, n) => {
      const node = dom(n);
      const lines = content.split('\n').filter((l) => l.trim() !== '');
      if (lines.length === 0) return '';
      const first = node.rows?.[0];
      const cols = first ? Array.prototype.filter.call(first.childNodes, (c: DomNode) => c.nodeName === 'TD' || c.nodeName === 'TH').length : 1;
      const sep = '| ' + Array.from({ length: Math.max(cols, 1) }, () => '---').join(' | ') + ' |';
      return '\n\n' + [lines[0], sep, ...lines.slice(1)].join('\n') + '\n\n';
    },
  });

  return td;
}

/**
 * Markdown: ATX headings, `-` bullets, fenced code, GFM tables, links with
 * hrefs resolved against baseUrl when given; script/style/noscript/template
 * and head contents dropped.
 */
export function htmlToMarkdown(html: string, baseUrl?: string): string {
  if (html.trim() === '') return '';
  return createTurndown(baseUrl).turndown(html).trim();
}

// ---------------------------------------------------------------------------
// JSON

export function parseJsonContent(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

// ---------------------------------------------------------------------------
// The whole conversion

/**
 * Converts a fetched body to the requested format.
 * - Binary types (image/*, application/pdf, application/octet-stream, ...;
 *   or no content type and NUL bytes) → base64, charset 'binary', for every
 *   format but json.
 * - raw → the decoded text.
 * - text / markdown → converted from HTML (text/html, application/xhtml+xml,
 *   or HTML-looking bytes without a content type); other types → the decoded
 *   text unchanged.
 * - json → `json` holds the parsed value, `content` the decoded text; a body
 *   that is not JSON gives ERR::SCRAPE::NOT_JSON (content still the decoded
 *   text, or null for a binary body).
 */
export function convertContent(format: ConvertFormat, body: Buffer, contentType: string | null, url: string): ConvertedContent {
  const mime = mimeType(contentType);
  const binary = isBinaryMime(mime) || (mime === null && looksBinary(body));

  if (binary) {
    if (format === 'json') {
      return {
        content: null,
        charset: 'binary',
        error: { code: NOT_JSON, message: `expected JSON, got a binary body (${mime ?? 'no content type'})` },
      };
    }
    return { content: body.toString('base64'), charset: 'binary' };
  }

  const { text, charset } = decodeBody(body, contentType);
  switch (format) {
    case 'raw':
      return { content: text, charset };
    case 'text':
    case 'markdown': {
      const html = isHtmlMime(mime) || (mime === null && looksLikeHtml(body));
      if (!html) return { content: text, charset };
      return { content: format === 'text' ? htmlToText(text) : htmlToMarkdown(text, url || undefined), charset };
    }
    case 'json': {
      const parsed = parseJsonContent(text);
      if (parsed.ok) return { content: text, json: parsed.value, charset };
      return {
        content: text,
        charset,
        error: { code: NOT_JSON, message: `expected JSON, the body (${mime ?? 'no content type'}) does not parse: ${parsed.error}` },
      };
    }
    default: {
      const never: never = format;
      throw new Error(`unknown format ${String(never)}`);
    }
  }
}
