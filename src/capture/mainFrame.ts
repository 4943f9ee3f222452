import type { Page, Request, Response } from 'playwright-core';
import type { PageGuardLog } from './browser';
import { REFUSED_HEADER, UNREACHABLE_HEADER } from './guardProxy';

/**
 * Watches where the page itself goes. A redirect, a script or a meta refresh
 * can send the main frame to a refused address after goto() returned; the
 * guard proxy then answers in that address's place (or fails the tunnel), and
 * that answer must fail the capture instead of passing for the page.
 * Sub-frames and sub-resources are not watched: their refusals leave the page
 * itself intact.
 */
export interface MainFrameWatch {
  /** The first refused main-frame navigation, as a message naming its URL; null while there is none. */
  readonly refused: string | null;
  /**
   * The first main-frame navigation to an http:// target that could not be
   * reached (the proxy answered in its place); null while there is none.
   */
  readonly unreachable: { code: 'NETWORK' | 'TIMEOUT'; message: string } | null;
  /** Resolves once no main-frame navigation has been in flight for quietMs (or a refusal or an unreachable target was seen, or maxMs passed). */
  settle(quietMs: number, maxMs: number): Promise<void>;
  /** Calls fn when the next main-frame navigation starts; returns the unsubscribe. */
  onNavigation(fn: () => void): () => void;
  stop(): void;
}

export function watchMainFrame(page: Page, seen: PageGuardLog): MainFrameWatch {
  let refused: string | null = null;
  let unreachable: MainFrameWatch['unreachable'] = null;
  const inFlight = new Set<Request>();
  const listeners = new Set<() => void>();
  const isMainNavigation = (req: Request): boolean => {
    if (!req.isNavigationRequest()) return false;
    try {
      return req.frame() === page.mainFrame();
    } catch {
      return false; // service-worker requests have no frame
    }
  };
  const refuse = (message: string) => {
    refused ??= message;
  };

  const onRequest = (req: Request) => {
    if (!isMainNavigation(req)) return;
    inFlight.add(req);
    for (const fn of [...listeners]) fn();
  };
  const onResponse = (res: Response) => {
    const req = res.request();
    inFlight.delete(req);
    if (!isMainNavigation(req)) return;
    // Plain http://: the proxy answered for the refused address, and marked it.
    const reason = res.headers()[REFUSED_HEADER];
    if (reason !== undefined) refuse(`the address guard refused ${res.url()}: ${reason}`);
    // Plain http:// too: the target did not answer, the proxy did in its place.
    const mark = res.headers()[UNREACHABLE_HEADER];
    if (mark !== undefined && unreachable === null) {
      const [, kind, why] = /^(NETWORK|TIMEOUT) ?(.*)$/.exec(mark) ?? [undefined, 'NETWORK', mark];
      unreachable = { code: kind === 'TIMEOUT' ? 'TIMEOUT' : 'NETWORK', message: `page could not be loaded: ${res.url()}: ${why}` };
    }
  };
  const onFailed = (req: Request) => {
    inFlight.delete(req);
    if (!isMainNavigation(req) || !/ERR_TUNNEL_CONNECTION_FAILED/.test(req.failure()?.errorText ?? '')) return;
    // https:// goes through a CONNECT tunnel: the refusal shows only as a failed tunnel to that host and port.
    const u = new URL(req.url());
    const hostname = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    const tunnel = seen.refusedSince().find((r) => r.url === null && r.hostname === hostname && r.port === port);
    if (tunnel) refuse(`the address guard refused ${req.url()}: ${tunnel.reason}`);
  };
  const onFinished = (req: Request) => void inFlight.delete(req);

  page.on('request', onRequest);
  page.on('response', onResponse);
  page.on('requestfailed', onFailed);
  page.on('requestfinished', onFinished);

  return {
    get refused() {
      return refused;
    },
    get unreachable() {
      return unreachable;
    },
    async settle(quietMs, maxMs) {
      const deadline = performance.now() + maxMs;
      let quietSince = performance.now();
      while (refused === null && unreachable === null && performance.now() < deadline) {
        if (inFlight.size > 0) quietSince = performance.now();
        else if (performance.now() - quietSince >= quietMs) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    onNavigation(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    stop() {
      listeners.clear();
      page.off('request', onRequest);
      page.off('response', onResponse);
      page.off('requestfailed', onFailed);
      page.off('requestfinished', onFinished);
    },
  };
}
