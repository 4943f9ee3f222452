// robots.txt fetched through the guarded client and cached per origin, for
// the crawl's page activities (robots.ts reads the file; this fetches it).
//
// - One cache per worker process, shared by every crawl the worker runs: the
//   file governs an origin, not a crawl. Bounded (LRU on use) and expiring.
// - The fetch's answer is what is cached, not the policy: the policy depends
//   on the user agent (a crawl's robotsUserAgent), and parsing per agent is
//   cheap next to fetching. Policies are memoized per agent within an entry.
// - Concurrent askers for one origin share one fetch.
// - A server error or no answer at all makes robots.ts disallow the whole
//   origin (RFC 9309 2.3.1.3-4). Keeping that for the full TTL would let one
//   blip fail every remaining page of a crawl, so such outcomes are kept for
//   at most failureTtlMs, after which the next page asks again.
// - The fetch follows redirects (at most five, RFC 9309 2.3.1.2) and reads at
//   most ROBOTS_MAX_BYTES; past that the file is read truncated, as robots.ts
//   describes.
import type { Dispatcher } from 'undici';
import { RedirectError, request } from '../net/httpClient';
import { decodeBody } from '../content/convert';
import { DEFAULT_USER_AGENT } from './fetchPage';
import { parseRobots, ROBOTS_MAX_BYTES, ROBOTS_USER_AGENT, robotsTxtUrl, type RobotsFetchOutcome, type RobotsPolicy } from './robots';
import { decodeContentEncoding, describeFetchError } from './transport';

/** Longest Crawl-delay honoured: a site asking for more would stall a crawl for hours. */
export const MAX_CRAWL_DELAY_MS = 10_000;

export interface RobotsCacheOptions {
  http: Dispatcher;
  /** The robots.txt fetch's whole timeout. */
  timeoutMs: number;
  /** Origins kept. Default 1000. */
  maxEntries?: number;
  /** How long a fetched file is used. Default 30 minutes. */
  ttlMs?: number;
  /** How long a 5xx/unreachable outcome is used (capped by ttlMs). Default 60 s. */
  failureTtlMs?: number;
  /** User-Agent header of the fetch. Default DEFAULT_USER_AGENT. */
  userAgentHeader?: string;
  /** Clock, for tests. */
  now?: () => number;
}

export interface RobotsCache {
  /**
   * The policy for the URL's origin; `userAgent` is the product token groups
   * are matched with (default ROBOTS_USER_AGENT). Never rejects for a fetch
   * failure (that is a policy too); rejects with a RangeError for a URL that
   * is not http(s).
   */
  policyFor(url: string, userAgent?: string): Promise<RobotsPolicy>;
  /** Origins currently cached (for tests and metrics). */
  readonly size: number;
  clear(): void;
}

interface Entry {
  outcome: Promise<RobotsFetchOutcome>;
  /** Set once the fetch has settled; until then the entry never expires. */
  expiresAt: number;
  policies: Map<string, RobotsPolicy>;
}

/** Fetches a robots.txt and says what came of it, in the terms parseRobots reads. Never rejects. */
export async function fetchRobots(
  http: Dispatcher,
  robotsUrl: string,
  opts: { timeoutMs: number; userAgentHeader?: string },
): Promise<RobotsFetchOutcome> {
  try {
    const res = await request(http, {
      url: robotsUrl,
      method: 'GET',
      headers: { 'user-agent': opts.userAgentHeader ?? DEFAULT_USER_AGENT, accept: 'text/plain,*/*;q=0.5' },
      timeoutMs: opts.timeoutMs,
      maxRedirects: 5,
      maxBodyBytes: ROBOTS_MAX_BYTES,
    });
    let body = res.body;
    let truncated = res.truncated;
    if (res.status >= 200 && res.status < 300) {
      try {
        body = await decodeContentEncoding(body, res.headers['content-encoding'], ROBOTS_MAX_BYTES);
      } catch {
        // A body we cannot inflate (or one cut mid-stream) is read as far as
        // it goes: an empty file, which allows everything, as a 4xx would.
        body = Buffer.alloc(0);
        truncated = true;
      }
    }
    return { kind: 'response', status: res.status, body: decodeBody(body, res.headers['content-type'] ?? 'text/plain').text, truncated };
  } catch (err) {
    if (err instanceof RedirectError) return { kind: 'redirect_failed', error: err.message };
    return { kind: 'unreachable', error: describeFetchError(err) ?? (err instanceof Error ? err.message : String(err)) };
  }
}

function isFailure(o: RobotsFetchOutcome): boolean {
  return o.kind === 'unreachable' || (o.kind === 'response' && (o.status >= 500 || o.status === 429));
}

export function createRobotsCache(opts: RobotsCacheOptions): RobotsCache {
  const maxEntries = Math.max(1, opts.maxEntries ?? 1000);
  const ttlMs = opts.ttlMs ?? 30 * 60_000;
  const failureTtlMs = Math.min(opts.failureTtlMs ?? 60_000, ttlMs);
  const now = opts.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  const entries = new Map<string, Entry>();

  function entryFor(origin: string): Entry {
    const hit = entries.get(origin);
    if (hit !== undefined && now() < hit.expiresAt) {
      entries.delete(origin);
      entries.set(origin, hit);
      return hit;
    }
    if (hit !== undefined) entries.delete(origin);
    const entry: Entry = {
      outcome: fetchRobots(opts.http, `${origin}/robots.txt`, opts),
      expiresAt: Number.POSITIVE_INFINITY,
      policies: new Map(),
    };
    entry.outcome.then(
      (o) => {
        entry.expiresAt = now() + (isFailure(o) ? failureTtlMs : ttlMs);
      },
      // fetchRobots does not reject; if a bug made it, the next asker must not inherit the rejection.
      () => {
        if (entries.get(origin) === entry) entries.delete(origin);
      },
    );
    entries.set(origin, entry);
    for (const oldest of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(oldest);
    }
    return entry;
  }

  return {
    async policyFor(url: string, userAgent: string = ROBOTS_USER_AGENT): Promise<RobotsPolicy> {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        throw new RangeError(`not an http(s) URL: ${url}`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`not an http(s) URL: ${url}`);
      const robotsUrl = robotsTxtUrl(url);
      const entry = entryFor(u.origin);
      const outcome = await entry.outcome;
      let policy = entry.policies.get(userAgent);
      if (policy === undefined) {
        policy = parseRobots(robotsUrl, outcome, { userAgent });
        entry.policies.set(userAgent, policy);
      }
      return policy;
    },
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
  };
}

/**
 * The pause between two fetches from one origin that the policy asks for, in
 * milliseconds: its Crawl-delay, clamped to 0..maxMs (MAX_CRAWL_DELAY_MS by
 * default). No Crawl-delay, or a policy that is not read from a file, is 0.
 * The clamp is ours: Crawl-delay is not in RFC 9309, Google ignores it, and
 * honouring `Crawl-delay: 3600` would make a 100-page crawl take four days.
 */
export function crawlDelayMs(policy: Pick<RobotsPolicy, 'crawlDelaySeconds'>, maxMs: number = MAX_CRAWL_DELAY_MS): number {
  const s = policy.crawlDelaySeconds;
  if (s === null || !Number.isFinite(s) || s <= 0) return 0;
  return Math.min(Math.round(s * 1000), Math.max(0, maxMs));
}
