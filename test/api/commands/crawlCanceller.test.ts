import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { CrawlCanceller, findCrawl, type CrawlOwner } from '../../../src/commands/crawlCanceller';
import { CrawlSubmitter } from '../../../src/commands/crawlSubmitter';
import { loadConfig } from '../../../src/config';
import { migrate } from '../../../src/db/migrate';
import { withTransaction } from '../../../src/db/pool';
import { insertCrawl } from '../../../src/db/repositories/crawls';
import { createProject } from '../../../src/db/repositories/projects';
import type { Project } from '../../../src/db/rows';
import { AppError } from '../../../src/errors';
import { createLogger } from '../../../src/logger';
import { crawlWorkflowId } from '../../../src/shared/names';
import { freshDatabase, testEnv, type TestDatabase } from '../../helpers/env';
import { startTcpProxy } from '../../helpers/tcpProxy';

// CrawlCanceller on the real PostgreSQL and the run's Temporal dev server.
// No worker polls the task queue: a crawl workflow started here waits, and
// the cancel signals it receives stay in its history for the test to read.

const SITE = 'http://127.0.0.1:9';
const OPTIONS = {
  scope: {},
  formats: ['markdown' as const],
  onlyMainContent: true,
  ignoreRobotsTxt: false,
  sitemap: 'skip' as const,
  ignoreQueryParameters: false,
  maxConcurrency: null,
  robotsUserAgent: null,
  headers: {},
  timeoutMs: null,
};

function assertAppError(code: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

describe('CrawlCanceller', () => {
  let d: TestDatabase;
  let connection: Connection;
  let temporal: Client;
  let project: Project;
  let owner: CrawlOwner;
  let canceller: CrawlCanceller;
  let submitter: CrawlSubmitter;
  const started: string[] = [];
  const row = async (id: string) =>
    (await d.pool.query('SELECT status, error, settled, total, completed_at IS NOT NULL AS ended FROM crawls WHERE id = $1', [id])).rows[0];
  const cancelSignals = async (id: string) =>
    ((await temporal.workflow.getHandle(crawlWorkflowId(id)).fetchHistory()).events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'cancelCrawl',
    ).length;

  /** A crawl with its workflow waiting on the task queue. */
  async function runningCrawl(): Promise<string> {
    const request = {
      kind: 'crawl' as const,
      apiVersion: 2 as const,
      url: `${SITE}/`,
      options: OPTIONS,
      webhook: null,
      pageLimit: 3,
      seeds: [{ url: `${SITE}/`, canonical: `${SITE}/`, depth: 0 }],
    };
    const { id } = await submitter.submit({ project, env: 'test', request });
    started.push(id);
    return id;
  }

  /** A crawl row alone: its workflow never started (or is gone). */
  async function rowOnly(status: 'scraping' | 'completed' = 'scraping'): Promise<string> {
    const id = randomUUID();
    const seeds = ['a', 'b'].map((p) => ({ url: `${SITE}/${p}`, canonical: `${SITE}/${p}`, depth: 0 }));
    await withTransaction(d.pool, (c) =>
      insertCrawl(
        c,
        {
          id,
          project_id: project.id,
          env: 'test',
          kind: 'batch_scrape',
          api_version: 1,
          url: null,
          options: OPTIONS,
          webhook: null,
          page_limit: 2,
          expires_at: new Date(Date.now() + 86_400_000),
        },
        seeds,
      ),
    );
    if (status !== 'scraping') await d.pool.query(`UPDATE crawls SET status = $2, settled = true, completed_at = now() WHERE id = $1`, [id, status]);
    return id;
  }

  before(async () => {
    d = await freshDatabase();
    await migrate(d.pool);
    connection = await Connection.connect({ address: testEnv().temporalAddress });
    temporal = new Client({ connection, namespace: 'default' });
    const config = loadConfig({ TEMPORAL_TASK_QUEUE: `crawl-canceller-${randomBytes(6).toString('hex')}` });
    project = await createProject(d.pool, { name: 'crawler', plan: 'DISCOVERY' });
    owner = { projectId: project.id, env: 'test' };
    canceller = new CrawlCanceller({ db: d.pool, temporal });
    submitter = new CrawlSubmitter({ db: d.pool, config, logger: createLogger('silent'), temporal });
  });
  after(async () => {
    for (const id of started)
      await temporal.workflow
        .getHandle(crawlWorkflowId(id))
        .terminate('test over')
        .catch(() => undefined);
    await connection?.close();
    await d?.drop();
  });

  it('marks a running crawl cancelled and signals its workflow, again on every call', async () => {
    const id = await runningCrawl();
    assert.equal(await canceller.cancel(owner, id), 'cancelled');
    // The workflow ends the crawl: until then it stays open.
    assert.deepEqual(await row(id), { status: 'cancelled', error: 'cancelled', settled: false, total: 1, ended: false });
    assert.equal(await cancelSignals(id), 1);

    // A signal lost to an outage is sent by the retry; the id's case does not matter.
    assert.equal(await canceller.cancel(owner, id.toUpperCase()), 'cancelled');
    assert.equal(await cancelSignals(id), 2);
    assert.equal((await temporal.workflow.getHandle(crawlWorkflowId(id)).describe()).status.name, 'RUNNING');
  });

  it('a crawl whose workflow does not exist is ended here: unfetched pages dropped, settled', async () => {
    const id = await rowOnly();
    assert.equal(await canceller.cancel(owner, id), 'cancelled');
    assert.deepEqual(await row(id), { status: 'cancelled', error: 'cancelled', settled: true, total: 0, ended: true });
    assert.equal((await d.pool.query('SELECT count(*)::int AS n FROM crawl_pages WHERE crawl_id = $1', [id])).rows[0].n, 0);
    // Repeated: ended already, nothing to signal or end.
    assert.equal(await canceller.cancel(owner, id), 'cancelled');
  });

  it('an ended crawl answers with how it ended and is left as it is', async () => {
    const id = await rowOnly('completed');
    const before = await row(id);
    assert.equal(await canceller.cancel(owner, id), 'completed');
    assert.deepEqual(await row(id), before);
    assert.equal(before.status, 'completed');
  });

  it("another project's or environment's crawl, and an id that is no UUID, are not found (nothing changes)", async () => {
    const id = await rowOnly();
    const other = await createProject(d.pool, { name: 'other', plan: 'DISCOVERY' });
    const notFound = assertAppError('ERR::CRAWL::NOT_FOUND', /^no crawl or batch scrape with id ".*" in this project and environment$/);
    await assert.rejects(canceller.cancel({ projectId: other.id, env: 'test' }, id), notFound);
    await assert.rejects(canceller.cancel({ projectId: project.id, env: 'live' }, id), notFound);
    await assert.rejects(canceller.cancel(owner, 'not-a-uuid'), notFound);
    await assert.rejects(findCrawl({ db: d.pool }, owner, randomUUID()), notFound);
    assert.equal((await row(id)).status, 'scraping');
    assert.equal((await findCrawl({ db: d.pool }, owner, id)).id, id);
  });

  it('Temporal unreachable: the crawl stays marked cancelled, not ended, and the caller is told to cancel again', async () => {
    const id = await rowOnly();
    const [host, port] = testEnv().temporalAddress.split(':');
    const proxy = await startTcpProxy(host!, Number(port));
    const proxied = await Connection.connect({ address: `127.0.0.1:${proxy.port}` });
    try {
      await proxy.cut();
      const cut = new CrawlCanceller({ db: d.pool, temporal: new Client({ connection: proxied, namespace: 'default' }) });
      await assert.rejects(
        cut.cancel(owner, id),
        assertAppError(
          'ERR::TEMPORAL::UNAVAILABLE',
          /^the crawl is marked cancelled, but its workflow could not be told \(.*\); send the DELETE again$/,
        ),
      );
    } finally {
      await proxied.close().catch(() => undefined);
      await proxy.close();
    }
    assert.deepEqual(await row(id), { status: 'cancelled', error: 'cancelled', settled: false, total: 2, ended: false });

    // The retry, with Temporal back, learns there is no workflow and ends the crawl.
    assert.equal(await canceller.cancel(owner, id), 'cancelled');
    assert.deepEqual(await row(id), { status: 'cancelled', error: 'cancelled', settled: true, total: 0, ended: true });
  });
});
