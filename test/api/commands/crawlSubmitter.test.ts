import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { CrawlSubmitter, type CrawlRequest, type CrawlSubmitterDeps } from '../../../src/commands/crawlSubmitter';
import { loadConfig } from '../../../src/config';
import { migrate } from '../../../src/db/migrate';
import { createProject } from '../../../src/db/repositories/projects';
import type { Project } from '../../../src/db/rows';
import { AppError } from '../../../src/errors';
import { createLogger } from '../../../src/logger';
import { crawlWorkflowId } from '../../../src/shared/names';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME } from '../../../src/shared/searchAttributes';
import { freshDatabase, testEnv, type TestDatabase } from '../../helpers/env';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcpProxy';

// CrawlSubmitter on the real PostgreSQL and the run's Temporal dev server.
// No worker polls the task queue: a started crawl workflow waits there,
// which is all submission promises; the tests terminate what they start.

const SITE = 'http://127.0.0.1:9';

/** A valid request, as the Firecrawl route's schema hands it over. */
function crawlRequest(over: Partial<CrawlRequest> = {}): CrawlRequest {
  return {
    kind: 'crawl',
    apiVersion: 2,
    url: `${SITE}/`,
    options: {
      scope: { includePaths: ['^/docs'] },
      formats: ['markdown', 'html'],
      onlyMainContent: true,
      ignoreRobotsTxt: false,
      sitemap: 'skip',
      ignoreQueryParameters: false,
      maxConcurrency: 2,
      robotsUserAgent: null,
      headers: {},
      timeoutMs: null,
    },
    webhook: { url: 'https://127.0.0.1:9/hook', headers: {}, metadata: { run: 1 }, events: ['completed'] },
    pageLimit: 5,
    seeds: [{ url: `${SITE}/`, canonical: `${SITE}/`, depth: 0 }],
    ...over,
  };
}

describe('CrawlSubmitter', () => {
  let d: TestDatabase;
  let connection: Connection;
  let temporal: Client;
  let deps: CrawlSubmitterDeps;
  let project: Project;
  const started: string[] = [];
  const crawlRows = async (projectId: string) =>
    (await d.pool.query('SELECT id, status, settled, total, error FROM crawls WHERE project_id = $1 ORDER BY created_at', [projectId])).rows;
  const pageCount = async (id: string) =>
    (await d.pool.query('SELECT count(*)::int AS n FROM crawl_pages WHERE crawl_id = $1', [id])).rows[0].n as number;

  before(async () => {
    d = await freshDatabase();
    await migrate(d.pool);
    connection = await Connection.connect({ address: testEnv().temporalAddress });
    temporal = new Client({ connection, namespace: 'default' });
    const config = loadConfig({ TEMPORAL_TASK_QUEUE: `crawl-submitter-${randomBytes(6).toString('hex')}` });
    deps = { db: d.pool, config, logger: createLogger('silent'), temporal };
    project = await createProject(d.pool, { name: 'crawler', plan: 'DISCOVERY' });
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

  it('stores the request as given, its seeds as frontier pages, and starts crawl:<id> on the task queue', async () => {
    const request = crawlRequest();
    const before = Date.now();
    const { id } = await new CrawlSubmitter(deps).submit({ project, env: 'test', request });
    started.push(id);

    const row = (await d.pool.query('SELECT * FROM crawls WHERE id = $1', [id])).rows[0];
    assert.equal(row.project_id, project.id);
    assert.equal(row.env, 'test');
    assert.equal(row.kind, 'crawl');
    assert.equal(row.api_version, 2);
    assert.equal(row.url, `${SITE}/`);
    assert.deepEqual(row.options, request.options);
    assert.deepEqual(row.webhook, request.webhook);
    assert.equal(row.page_limit, 5);
    assert.equal(row.status, 'scraping');
    assert.equal(row.total, 1);
    const expiresIn = row.expires_at.getTime() - before;
    assert.ok(expiresIn >= deps.config.crawl.expiresAfterMs && expiresIn < deps.config.crawl.expiresAfterMs + 60_000, `expires in ${expiresIn} ms`);
    assert.deepEqual((await d.pool.query('SELECT url, canonical, depth, status FROM crawl_pages WHERE crawl_id = $1', [id])).rows, [
      { url: `${SITE}/`, canonical: `${SITE}/`, depth: 0, status: 'pending' },
    ]);

    const wf = await temporal.workflow.getHandle(crawlWorkflowId(id)).describe();
    assert.equal(wf.status.name, 'RUNNING');
    assert.equal(wf.type, 'crawlWorkflow');
    assert.equal(wf.taskQueue, deps.config.temporal.taskQueue);
    assert.equal(wf.typedSearchAttributes.get(SA_PROJECT_NAME), 'crawler');
    assert.equal(wf.typedSearchAttributes.get(SA_JOB_STATUS), 'scraping');
    assert.equal(wf.typedSearchAttributes.get(SA_JOB_KIND), 'crawl');
  });

  it('a batch: every seed stored, the page limit as given', async () => {
    const seeds = ['a', 'b', 'c'].map((p) => ({ url: `${SITE}/${p}`, canonical: `${SITE}/${p}`, depth: 0 }));
    const request = crawlRequest({ kind: 'batch_scrape', apiVersion: 1, url: null, pageLimit: 3, seeds, webhook: null });
    const { id } = await new CrawlSubmitter(deps).submit({ project, env: 'live', request });
    started.push(id);
    const row = (await d.pool.query('SELECT kind, api_version, url, env, total, page_limit, webhook FROM crawls WHERE id = $1', [id])).rows[0];
    assert.deepEqual(row, { kind: 'batch_scrape', api_version: 1, url: null, env: 'live', total: 3, page_limit: 3, webhook: null });
    assert.equal(await pageCount(id), 3);
    const wf = await temporal.workflow.getHandle(crawlWorkflowId(id)).describe();
    assert.equal(wf.typedSearchAttributes.get(SA_JOB_KIND), 'batch_scrape');
  });

  it('a full queue refuses before anything is written or started (ERR::WEBHOOK::QUEUE_FULL)', async () => {
    const free = await createProject(d.pool, { name: 'free', plan: 'FREE' });
    await assert.rejects(new CrawlSubmitter(deps).submit({ project: free, env: 'test', request: crawlRequest() }), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'ERR::WEBHOOK::QUEUE_FULL');
      return true;
    });
    assert.deepEqual(await crawlRows(free.id), []);
  });

  it('a start Temporal refuses (no such namespace) ends the crawl failed and settled, its pages dropped', async () => {
    const p = await createProject(d.pool, { name: 'refused', plan: 'DISCOVERY' });
    const nowhere = new Client({ connection, namespace: `no-such-namespace-${randomBytes(4).toString('hex')}` });
    await assert.rejects(
      new CrawlSubmitter({ ...deps, temporal: nowhere }).submit({ project: p, env: 'test', request: crawlRequest() }),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'ERR::TEMPORAL::UNAVAILABLE');
        assert.match(err.message, /^crawl could not be scheduled: .*; nothing was started, submit it again$/);
        return true;
      },
    );
    const rows = await crawlRows(p.id);
    assert.deepEqual(
      rows.map(({ status, settled, total }) => ({ status, settled, total })),
      [{ status: 'failed', settled: true, total: 0 }],
    );
    assert.match(rows[0].error, /^crawl could not be scheduled: /);
    assert.equal(await pageCount(rows[0].id), 0);
  });

  it('a start whose fate is unknown (Temporal unreachable) keeps the row as it is', async () => {
    const p = await createProject(d.pool, { name: 'unknown', plan: 'DISCOVERY' });
    const [host, port] = testEnv().temporalAddress.split(':');
    const proxy: TcpProxy = await startTcpProxy(host!, Number(port));
    const proxied = await Connection.connect({ address: `127.0.0.1:${proxy.port}` });
    try {
      await proxy.cut();
      const request = crawlRequest({ kind: 'batch_scrape', url: null, webhook: null });
      await assert.rejects(
        new CrawlSubmitter({ ...deps, temporal: new Client({ connection: proxied, namespace: 'default' }) }).submit({
          project: p,
          env: 'test',
          request,
        }),
        (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, 'ERR::TEMPORAL::UNAVAILABLE');
          assert.match(err.message, /^batch scrape [0-9a-f-]{36} may or may not have started: /);
          return true;
        },
      );
    } finally {
      await proxied.close().catch(() => undefined);
      await proxy.close();
    }
    const rows = await crawlRows(p.id);
    assert.deepEqual(
      rows.map(({ status, settled, total }) => ({ status, settled, total })),
      [{ status: 'scraping', settled: false, total: 1 }],
    );
    assert.equal(await pageCount(rows[0].id), 1);
    // Nothing ever reached the server.
    await assert.rejects(temporal.workflow.getHandle(crawlWorkflowId(rows[0].id)).describe(), WorkflowNotFoundError);
  });
});
