import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { withTransaction, type Db } from '../db/pool';
import { failUnstartedCrawl, type PageSeed } from '../db/repositories/crawls';
import { QUEUE_LIMITS } from '../db/repositories/projects';
import type { Env, Project } from '../db/rows';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { CrawlOptions, CrawlWebhook } from '../shared/contracts/crawl';
import { crawlWorkflowId, type CrawlKind } from '../shared/names';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME } from '../shared/searchAttributes';
import { buildCrawlWorkflowInput } from '../temporal/crawlInput';
import { insertCrawlWithinQueueLimit } from './queueLimit';
import { errorMessage, startFreshWorkflow } from './workflowStart';

export type ApiVersion = 1 | 2;

/**
 * A crawl or batch scrape request, validated and read into what is stored:
 * the crawls row's fields and its first pages. The Firecrawl route's schema
 * makes it; every rule a request must meet has been checked by then.
 */
export interface CrawlRequest {
  kind: CrawlKind;
  apiVersion: ApiVersion;
  /** The start URL, normalized (null for a batch). */
  url: string | null;
  options: CrawlOptions;
  webhook: CrawlWebhook | null;
  pageLimit: number;
  seeds: PageSeed[];
}

export interface CrawlSubmitterDeps {
  db: Db;
  /** The crawl's expiry and workflow sizing, the scrape timeout, the task queue. */
  config: Pick<Config, 'crawl' | 'scrape' | 'temporal'>;
  logger: Logger;
  temporal: Client;
}

/**
 * Creates a crawl or batch scrape: within the plan's queue limit (a crawl
 * counts as one pending element until it settles), the row and its first
 * pages in one transaction, then its workflow crawl:<uuid>.
 *
 * As in JobSubmitter, a row is never removed once written: a start that
 * surely did not land ends the crawl failed (and settled, so it stops
 * counting against the queue); a start that may have landed leaves it as it
 * is, for the workflow that may be running.
 */
export class CrawlSubmitter {
  constructor(private readonly deps: CrawlSubmitterDeps) {}

  async submit(s: { project: Project; env: Env; request: CrawlRequest }): Promise<{ id: string }> {
    const { db, config } = this.deps;
    const { request } = s;
    const id = randomUUID();
    const limit = QUEUE_LIMITS[s.project.plan];
    await withTransaction(db, async (c) => {
      await insertCrawlWithinQueueLimit(
        c,
        {
          id,
          project_id: s.project.id,
          env: s.env,
          kind: request.kind,
          api_version: request.apiVersion,
          url: request.url,
          options: request.options,
          webhook: request.webhook,
          page_limit: request.pageLimit,
          expires_at: new Date(Date.now() + config.crawl.expiresAfterMs),
        },
        request.seeds,
        limit,
      );
    });
    await this.startOrExplain(s.project, id, request);
    return { id };
  }

  private async startOrExplain(project: Project, id: string, request: CrawlRequest): Promise<void> {
    const { db, config, logger, temporal } = this.deps;
    const what = request.kind === 'crawl' ? 'crawl' : 'batch scrape';
    const out = await startFreshWorkflow(
      temporal,
      logger,
      'crawlWorkflow',
      {
        workflowId: crawlWorkflowId(id),
        taskQueue: config.temporal.taskQueue,
        args: [
          buildCrawlWorkflowInput(config, {
            crawlId: id,
            kind: request.kind,
            maxConcurrency: request.options.maxConcurrency,
            crawler: request.options.crawler,
          }),
        ],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: SA_PROJECT_NAME, value: project.name },
          { key: SA_JOB_STATUS, value: 'scraping' },
          { key: SA_JOB_KIND, value: request.kind },
        ],
      },
      { what: 'crawl workflow', fields: { crawlId: id } },
    );
    if (out.state === 'started') return;
    if (out.state === 'not-started') {
      const text = `${what} could not be scheduled: ${errorMessage(out.error)}`;
      const failed = await withTransaction(db, (c) => failUnstartedCrawl(c, id, text));
      // The row moved on: a workflow has it after all.
      if (!failed) return;
      logger.warn({ crawlId: id, err: out.error }, 'crawl workflow was not started; crawl marked failed');
      throw new AppError('ERR::TEMPORAL::UNAVAILABLE', `${text}; nothing was started, submit it again`);
    }
    logger.error({ crawlId: id, err: out.error }, 'crawl workflow start could not be confirmed; crawl kept as it is');
    throw new AppError(
      'ERR::TEMPORAL::UNAVAILABLE',
      `${what} ${id} may or may not have started: Temporal did not confirm it (${errorMessage(out.error)}); check its status before submitting it again`,
    );
  }
}
