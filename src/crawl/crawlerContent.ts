// A Scrapfly crawler's page content (PageDocument.content): each of the
// crawler's content_formats as one string, as crawler_url_visited and the
// /crawl/:uuid/contents routes hand them out.
//
// - html: the body as fetched, decoded to text (for a rendered page, the
//   rendered DOM); nothing cleaned.
// - clean_html: the whole document without <script>, <style>, <noscript> and
//   comments (htmlContent.ts cleanDocument).
// - markdown, text: the page (its main content when onlyMainContent) as
//   markdown and as plain text (src/content/convert.ts).
// - json: the page as one JSON object: {url (final, after redirects),
//   requested_url, status_code, reason, content_type, headers (the response's,
//   names lower-case), title, links (every link of the page, absolute, query
//   kept), content (the text format)}. A string, like every format: JSON in
//   a JSON string.
// - page_metadata: what the page says about itself, as one JSON object:
//   {url, requested_url, status_code, content_type, size_bytes (body bytes
//   after content decoding), title, description, canonical, language,
//   robots (its robots meta), open_graph ({"og:title": …}), links_count}.
//   Absent values are null.
//
// Non-HTML text (JSON, plain text, XML…): html, clean_html, markdown and text
// all hold the text as served, and json's content too. Binary bodies (PDF,
// images…): those four are empty strings, json and page_metadata describe
// the answer. Each string is cut at the page's field cap like the Firecrawl
// fields (its name, `content.<format>`, listed in metadata.truncatedFields),
// except json and page_metadata, which must stay valid JSON: an oversized
// json drops its `content`, then its `links` (and says so in `truncated`).
import type { PageMetadata } from '../content/htmlContent';
import type { CrawlerFormat } from '../shared/contracts/crawl';
import { utf8Prefix } from './bytes';

/** What every format may say about the answer. */
export interface CrawlerPageFacts {
  /** The URL asked for. */
  url: string;
  finalUrl: string;
  statusCode: number;
  statusText: string;
  contentType: string | null;
  headers: Record<string, string>;
  bodyBytes: number;
  title?: string;
  meta?: PageMetadata;
  /** Every link of the page, absolute, query kept (empty for anything but HTML). */
  links: readonly string[];
}

/** The page's text in each text format, computed only when asked for. */
export type CrawlerTexts = Record<'html' | 'clean_html' | 'markdown' | 'text', () => string>;

const byteLength = (s: string) => new TextEncoder().encode(s).length;

/**
 * document.content for `formats`. `cut` names each field cut at `maxBytes`
 * (pushed as `content.<format>`).
 */
export function buildCrawlerContent(
  formats: readonly CrawlerFormat[],
  facts: CrawlerPageFacts,
  texts: CrawlerTexts,
  maxBytes: number,
  cut: string[],
): Partial<Record<CrawlerFormat, string>> {
  const memo = new Map<keyof CrawlerTexts, string>();
  const get = (k: keyof CrawlerTexts) => {
    let v = memo.get(k);
    if (v === undefined) memo.set(k, (v = texts[k]()));
    return v;
  };
  const capped = (name: CrawlerFormat, text: string) => {
    const c = utf8Prefix(text, maxBytes);
    if (c.cut) cut.push(`content.${name}`);
    return c.text;
  };
  const out: Partial<Record<CrawlerFormat, string>> = {};
  for (const f of new Set(formats)) {
    if (f === 'json') out.json = pageJson(facts, () => get('text'), maxBytes, cut);
    else if (f === 'page_metadata') out.page_metadata = pageMetadataJson(facts);
    else out[f] = capped(f, get(f));
  }
  return out;
}

function pageJson(facts: CrawlerPageFacts, text: () => string, maxBytes: number, cut: string[]): string {
  const whole: Record<string, unknown> = {
    url: facts.finalUrl,
    requested_url: facts.url,
    status_code: facts.statusCode,
    reason: facts.statusText,
    content_type: facts.contentType,
    headers: facts.headers,
    title: facts.title ?? null,
    links: facts.links,
    content: text(),
  };
  let json = JSON.stringify(whole);
  if (json.length <= maxBytes / 3 || byteLength(json) <= maxBytes) return json;
  cut.push('content.json');
  const dropped: string[] = [];
  for (const key of ['content', 'links']) {
    whole[key] = null;
    dropped.push(key);
    json = JSON.stringify({ ...whole, truncated: dropped });
    if (byteLength(json) <= maxBytes) return json;
  }
  // Only the headers could still be too large: keep what identifies the page.
  return JSON.stringify({ url: facts.finalUrl, requested_url: facts.url, status_code: facts.statusCode, truncated: [...dropped, 'headers'] });
}

function pageMetadataJson(facts: CrawlerPageFacts): string {
  const m = facts.meta;
  return JSON.stringify({
    url: facts.finalUrl,
    requested_url: facts.url,
    status_code: facts.statusCode,
    content_type: facts.contentType,
    size_bytes: facts.bodyBytes,
    title: facts.title ?? null,
    description: m?.description ?? null,
    canonical: m?.canonical ?? null,
    language: m?.language ?? null,
    robots: m?.robots ?? null,
    open_graph: m?.openGraph ?? {},
    links_count: facts.links.length,
  });
}
