import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from '../db/pool';
import { endAbandonedCrawl, getCrawlInScope, markCrawlCancelled } from '../db/repositories/crawls';
import type { Crawl, Env } from '../db/rows';
import { AppError } from '../errors';
import { crawlWorkflowId } from '../shared/names';
import { cancelCrawlSignal } from '../shared/workflowApi';
import { errorMessage } from './workflowStart';

/** Whose crawls a caller reaches: its key's project and environment. */
export interface CrawlOwner {
  projectId: string;
  env: Env;
}

export interface CrawlCancellerDeps {
  db: Db;
  temporal: Client;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long the cancel signal may take before the caller is told to send the DELETE again. */
export const CANCEL_SIGNAL_TIMEOUT_MS = 10_000;

/**
 * The owner's crawl or batch (one id namespace: either API path reads
 * either kind), else ERR::CRAWL::NOT_FOUND. An id that is not a UUID names
 * nothing: 404 as well, not 400, as any other unknown id.
 */
export async function findCrawl(deps: Pick<CrawlCancellerDeps, 'db'>, owner: CrawlOwner, id: string): Promise<Crawl> {
  const crawl = UUID.test(id) ? await getCrawlInScope(deps.db, id.toLowerCase(), owner.projectId, owner.env) : null;
  if (!crawl) throw new AppError('ERR::CRAWL::NOT_FOUND', `no crawl or batch scrape with id "${id.slice(0, 64)}" in this project and environment`);
  return crawl;
}

/**
 * Cancels a crawl or batch scrape: marks the row cancelled, then signals
 * its workflow crawl:<uuid>, which stops scraping and ends the crawl.
 *
 * An ended crawl is not an error: the answer is the status it ended with
 * (the v2 client returns `status === "cancelled"`, which is then the truth),
 * so a repeated cancel is harmless. A cancelled crawl that has not ended is
 * signalled again on every call, so a signal lost to a Temporal outage is
 * sent by the retry.
 */
export class CrawlCanceller {
  constructor(private readonly deps: CrawlCancellerDeps) {}

  /** Returns the crawl's status after the call: cancelled, or how it had ended. */
  async cancel(owner: CrawlOwner, id: string): Promise<Crawl['status']> {
    const { db, temporal } = this.deps;
    let crawl = await findCrawl(this.deps, owner, id);
    if (crawl.status === 'scraping') {
      // false: it ended between the read and the update; answer with how.
      crawl = (await markCrawlCancelled(db, crawl.id)) ? { ...crawl, status: 'cancelled' } : await findCrawl(this.deps, owner, id);
    }
    if (crawl.status === 'cancelled' && !crawl.completed_at) {
      try {
        await temporal.connection.withDeadline(Date.now() + CANCEL_SIGNAL_TIMEOUT_MS, () =>
          temporal.workflow.getHandle(crawlWorkflowId(crawl.id)).signal(cancelCrawlSignal),
        );
      } catch (err) {
        // Closed without ending the crawl, or never started (an unconfirmed
        // start): nothing runs that could scrape further or end it, so it
        // ends here and stops counting against the queue limit.
        if (!(err instanceof WorkflowNotFoundError)) {
          throw new AppError(
            'ERR::TEMPORAL::UNAVAILABLE',
            `the crawl is marked cancelled, but its workflow could not be told (${errorMessage(err)}); send the DELETE again`,
          );
        }
        await endAbandonedCrawl(db, crawl.id);
      }
    }
    return crawl.status;
  }
}
