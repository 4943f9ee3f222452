import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy';
import { until } from '../helpers/wait';
import { freshDatabase } from '../helpers/env';
import { createPool } from '../../src/db/pool';
import { isDatabaseUnavailable } from '../../src/db/errors';

/** A page that answers only when released: holds a capture in flight across the cut. */
async function startHeldSite() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = http.createServer((_req, res) => {
    void released.then(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('held page');
    });
  });
  let hits = 0;
  server.on('request', () => hits++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    hits: () => hits,
    release,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('PostgreSQL outage', () => {
  let hs: TestHookshot;
  let proxy: TcpProxy;
  let receiver: Receiver;
  let site: Awaited<ReturnType<typeof startHeldSite>>;

  before(async () => {
    site = await startHeldSite();
    receiver = await startReceiver();
    const admin = new URL(process.env.HOOKSHOT_TEST_ADMIN_DB_URL!);
    proxy = await startTcpProxy(admin.hostname, Number(admin.port || 5432));
    hs = await startTestHookshot(
      { WEBHOOK_RETRY_SCHEDULE: '10ms' },
      {
        databaseUrl: (direct) => {
          const u = new URL(direct);
          u.hostname = '127.0.0.1';
          u.port = String(proxy.port);
          return u.toString();
        },
      },
    );
  });
  after(async () => {
    site?.release();
    await hs?.close();
    await proxy?.close();
    await receiver?.close();
    await site?.close();
  });

  const key = () => hs.keys.live;
  const crawl = () => hs.api('/v2/crawl', { method: 'POST', headers: { authorization: `Bearer ${key()}` }, json: { url: site.url, limit: 1 } });

  it('answers 503 ERR::DATABASE::UNAVAILABLE while it is away, then recovers and delivers what was in flight', async () => {
    const created = await hs.api('/webhooks', { method: 'POST', key: key(), json: { name: 'outage', url: receiver.url } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await hs.api('/healthz')).status, 200);

    const submitted = await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=outage`, { key: key() });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    const jobId = submitted.body.job_uuid as string;
    // The capture is running (and held) when the database goes away.
    await until(async () => (site.hits() > 0 ? true : undefined), 15_000);

    await proxy.cut();
    site.release();
    const expectUnavailable = (r: { status: number; headers: Headers; body: any }, what: string) => {
      assert.equal(r.status, 503, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.headers.get('content-type'), 'application/json', what);
      assert.equal(r.body.code, 'ERR::DATABASE::UNAVAILABLE', what);
      assert.equal(r.body.http_code, 503, what);
      assert.equal(r.body.retryable, true, what);
      assert.match(r.body.error_id, /^[0-9a-f-]{36}$/, what);
      assert.match(r.body.message, /database is unavailable/, what);
    };
    // Several rounds: the first requests meet pooled connections that were
    // cut, later ones meet a refused connect. Neither may leave as a 500.
    for (let round = 0; round < 3; round++) {
      expectUnavailable(await hs.api('/webhooks', { key: key() }), 'GET /webhooks');
      expectUnavailable(await hs.api('/healthz'), 'GET /healthz');
      const v2 = await crawl();
      expectUnavailable(v2, 'POST /v2/crawl');
      assert.equal(v2.body.success, false);
      assert.match(v2.body.error, /database is unavailable/);
      expectUnavailable(await hs.api(`/jobs/${jobId}`, { key: key() }), 'GET /jobs/:uuid');
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(receiver.received.length, 0, 'nothing is delivered while the job cannot be stored');
    // Metrics still answer (they are what one looks at now), without the queue depth they cannot read.
    const scraped = await fetch(`${hs.apiUrl}/metrics`);
    assert.equal(scraped.status, 200);
    const text = await scraped.text();
    assert.match(text, /^hookshot_deliveries_total\{outcome="success"\} 0$/m);
    assert.doesNotMatch(text, /^hookshot_webhook_queue_depth /m);

    await proxy.restore();
    // The pool connects anew by itself: no restart.
    await until(async () => ((await hs.api('/healthz')).status === 200 ? true : undefined), 15_000);
    const list = await hs.api('/webhooks', { key: key() });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const v2 = await crawl();
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.equal(v2.body.success, true);

    // Temporal retried the activities that met the outage: the job is delivered.
    await receiver.waitFor(1, 40_000);
    const job = await until(async () => {
      const j = await hs.api(`/jobs/${jobId}`, { key: key() });
      return j.body.status === 'delivered' || j.body.status === 'failed' ? j.body : undefined;
    }, 20_000);
    assert.equal(job.status, 'delivered', JSON.stringify(job));
    assert.equal(receiver.received[0]!.headers['x-scrapfly-webhook-job-id'], jobId);
  });
});

describe('a pooled connection the server ends while it is checked out', () => {
  // What a PostgreSQL restart does to a transaction between two queries: the
  // server's FATAL 57P01 arrives when no query is running on the client.
  it('does not crash the process: the next query fails as an outage, and the pool drops the client', async () => {
    const database = await freshDatabase();
    const pool = createPool(database.url, 2);
    try {
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const ended = new Promise((r) => client.once('end', r));
      await database.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await ended;
      await assert.rejects(client.query('SELECT 1'), (err) => isDatabaseUnavailable(err));
      client.release();
      const again = await pool.query<{ one: number }>('SELECT 1 AS one');
      assert.equal(again.rows[0]!.one, 1);
    } finally {
      await pool.end();
      await database.drop();
    }
  });
});
