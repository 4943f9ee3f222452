// robots.txt evaluation (RFC 9309) on robots-parser, which implements the
// group selection, `*` and `$` wildcards, longest-match precedence with
// Allow winning ties, and percent-encoding normalization the RFC describes.
// What the RFC leaves to the crawler, and what the library does not do, is
// decided here:
//
// - The fetch outcome decides before any parsing (RFC 9309 section 2.3.1):
//   2xx: parse the body; 4xx ("unavailable"): everything is allowed; 5xx and
//   unreachable (network error, timeout, refused address): everything is
//   disallowed. A 429 counts as unreachable, not unavailable: it is the server
//   asking for less traffic, not saying there are no rules (Google reads it
//   the same way). Redirects the fetcher could not follow to the end (more
//   than five, RFC 2.3.1.2, or refused by its HTTPS-to-HTTP or Location
//   checks) and a final 3xx count as unavailable, so allowed. Crawls are
//   short, so the RFC's 30-day grace for cached copies does not arise.
// - Only the first ROBOTS_MAX_BYTES of the file are read (the RFC's minimum
//   parsing limit is 500 KiB); a line cut by that limit is dropped rather
//   than read as a shorter, different rule.
// - A UTF-8 byte order mark is removed (robots-parser would otherwise not
//   recognise the first line).
// - /robots.txt itself is always allowed (RFC 2.2.2).
// - Crawl-delay (not in the RFC) is reported as the file gives it, for our
//   group or `*`, and left to the crawl to honour.
// - Sitemap: lines (not in the RFC) are reported resolved against the
//   robots.txt URL, http(s) only, deduped. They may name other hosts (the
//   sitemaps protocol's cross-submission); scope still decides about every URL
//   found in them.
//
// No fetching here and no Node import: the address-guarded HTTP client
// fetches, this module reads.
import robotsParser from 'robots-parser';
import { utf8Prefix } from './bytes';

/** The product token Hookshot's crawler matches robots.txt groups with. */
export const ROBOTS_USER_AGENT = 'HookshotBot';
/** robots.txt bytes read; pass it as the fetch's body limit too. */
export const ROBOTS_MAX_BYTES = 500 * 1024;

/**
 * What fetching `/robots.txt` gave, after following redirects (at most five):
 * a response; redirects that could not be followed to the end (the guarded
 * client's RedirectError); or no answer at all (connection error, timeout,
 * refused address).
 */
export type RobotsFetchOutcome =
  | { kind: 'response'; status: number; body: string; truncated?: boolean }
  | { kind: 'redirect_failed'; error?: string }
  | { kind: 'unreachable'; error?: string };

/**
 * - `rules`: the file was read; its rules decide.
 * - `allow_all`: no file to read (4xx, or redirects not followed to the end).
 * - `disallow_all`: the server failed or could not be reached (5xx, 429, network).
 */
export type RobotsMode = 'rules' | 'allow_all' | 'disallow_all';

export interface RobotsPolicy {
  /** scheme://host[:port] the file governs; robots.txt applies to exactly one origin. */
  readonly origin: string;
  readonly mode: RobotsMode;
  /** The HTTP status, or null when there was no final response. */
  readonly status: number | null;
  /** Why there was no answer (unreachable, refused), or null. */
  readonly fetchError: string | null;
  /** The file was longer than ROBOTS_MAX_BYTES and only its beginning was read. */
  readonly truncated: boolean;
  /** Seconds between requests asked of our user agent (or of `*`), or null. */
  readonly crawlDelaySeconds: number | null;
  /** Sitemap URLs the file lists, absolute, http(s), deduped, in file order. */
  readonly sitemaps: readonly string[];
  /** Whether the URL may be fetched. Throws a RangeError for a URL of another origin. */
  isAllowed(url: string): boolean;
  /** Whether this policy is the one for the URL's origin. */
  appliesTo(url: string): boolean;
}

/**
 * The product token a crawl matches robots.txt groups with: the one it names
 * (Firecrawl's robotsUserAgent); else the first product token of the
 * User-Agent it sends, when that names a crawler of its own (`AcmeBot/2.0
 * (+https://acme.example)` → `AcmeBot`): the site's operator addresses the
 * agent the requests say they come from; else ROBOTS_USER_AGENT. A
 * browser-style User-Agent (`Mozilla/5.0 …`) names no crawler, and groups
 * written for "Mozilla" are not meant for one, so ours applies then.
 */
export function robotsToken(o: { robotsUserAgent?: string | null; userAgent?: string | null }): string {
  if (o.robotsUserAgent) return o.robotsUserAgent;
  const token = /^\s*([A-Za-z_-]+)/.exec(o.userAgent ?? '')?.[1];
  return token && token.toLowerCase() !== 'mozilla' ? token : ROBOTS_USER_AGENT;
}

/** The robots.txt URL that governs a page URL. */
export function robotsTxtUrl(pageUrl: string): string {
  return `${new URL(pageUrl).origin}/robots.txt`;
}

function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

function modeFor(outcome: RobotsFetchOutcome): RobotsMode {
  if (outcome.kind === 'unreachable') return 'disallow_all';
  if (outcome.kind === 'redirect_failed') return 'allow_all';
  const s = outcome.status;
  if (s >= 200 && s < 300) return 'rules';
  if (s === 429) return 'disallow_all';
  if (s >= 300 && s < 500) return 'allow_all';
  return 'disallow_all';
}

/**
 * The robots policy for the origin of `robotsUrl`, from what fetching it gave.
 * `userAgent` is the product token to match groups with (Firecrawl's v2
 * `robotsUserAgent`); by default ROBOTS_USER_AGENT.
 */
export function parseRobots(robotsUrl: string, outcome: RobotsFetchOutcome, opts: { userAgent?: string } = {}): RobotsPolicy {
  const origin = originOf(robotsUrl);
  if (origin === null) throw new RangeError(`not an http(s) robots.txt URL: ${robotsUrl}`);
  const ownUrl = `${origin}/robots.txt`;
  const userAgent = opts.userAgent ?? ROBOTS_USER_AGENT;
  const mode = modeFor(outcome);
  const status = outcome.kind === 'response' ? outcome.status : null;

  let body = '';
  let truncated = false;
  if (mode === 'rules' && outcome.kind === 'response') {
    const cut = utf8Prefix(outcome.body, ROBOTS_MAX_BYTES);
    truncated = cut.cut || outcome.truncated === true;
    body = cut.text;
    if (truncated) {
      const lastBreak = Math.max(body.lastIndexOf('\n'), body.lastIndexOf('\r'));
      body = lastBreak === -1 ? '' : body.slice(0, lastBreak + 1);
    }
    if (body.charCodeAt(0) === 0xfeff) body = body.slice(1);
  }
  const robot = robotsParser(ownUrl, body);

  let crawlDelaySeconds: number | null = null;
  const sitemaps: string[] = [];
  if (mode === 'rules') {
    const d = robot.getCrawlDelay(userAgent);
    if (d !== undefined && Number.isFinite(d) && d >= 0) crawlDelaySeconds = d;
    const seen = new Set<string>();
    for (const raw of robot.getSitemaps()) {
      let abs: string;
      try {
        abs = new URL(raw.trim(), ownUrl).href;
      } catch {
        continue;
      }
      if (originOf(abs) === null || seen.has(abs)) continue;
      seen.add(abs);
      sitemaps.push(abs);
    }
  }

  const appliesTo = (url: string) => originOf(url) === origin;
  return {
    origin,
    mode,
    status,
    fetchError: outcome.kind === 'response' ? null : (outcome.error ?? null),
    truncated,
    crawlDelaySeconds,
    sitemaps,
    appliesTo,
    isAllowed(url: string): boolean {
      if (!appliesTo(url)) throw new RangeError(`${url} is not governed by ${ownUrl}`);
      const u = new URL(url);
      if (u.pathname === '/robots.txt') return true;
      if (mode === 'allow_all') return true;
      if (mode === 'disallow_all') return false;
      // Same origin, so the library always has an answer.
      return robot.isAllowed(url, userAgent) !== false;
    },
  };
}
