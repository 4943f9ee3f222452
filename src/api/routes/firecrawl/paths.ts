import type Koa from 'koa';
import type { AppState } from '../../context';

/** Paths the Firecrawl conventions (error shape, slash folding) apply to. */
export const FIRECRAWL_PREFIX = /^\/v[12](\/|$)/;

/**
 * The v1 client joins `apiUrl + "/v1/..."` as strings, so an apiUrl ending
 * in a slash asks for `//v1/crawl`. Folded before routing, and only for
 * these prefixes: elsewhere a doubled slash stays a path no route matches.
 */
export function foldFirecrawlSlashes(): Koa.Middleware<AppState> {
  return (ctx, next) => {
    if (/^\/{2,}v[12](\/|$)/.test(ctx.path)) ctx.path = ctx.path.replace(/^\/+/, '/');
    return next();
  };
}
