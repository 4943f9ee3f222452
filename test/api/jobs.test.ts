import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';

describe('job submission', () => {
  let hs: TestHookshot;
  let site: http.Server;
  let page: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    site = http.createServer((_q, s) => s.end('page'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    page = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    receiver = await startReceiver();
    hs = await startTestHookshot();
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'jobs', url: receiver.url } });
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
    site?.closeAllConnections();
    await new Promise((r) => site?.close(r));
  });
  const scrapeUrl = (extra = '') => `/scrape?url=${encodeURIComponent(page)}&webhook_name=jobs${extra}`;

  it('Idempotency-Key: a repeat returns the first job and starts nothing; a different request with the key is refused', async () => {
    const headers = { 'idempotency-key': `order-${randomUUID()}` };
    const first = await hs.api(scrapeUrl(), { key: hs.keys.live, headers });
    assert.equal(first.status, 200);
    const again = await hs.api(scrapeUrl(), { key: hs.keys.live, headers });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const other = await hs.api(scrapeUrl('&method=POST'), { key: hs.keys.live, headers });
    assert.equal(other.status, 409);
    assert.equal(other.body.code, 'ERR::IDEMPOTENCY::KEY_REUSED');
    // The same key in the other environment is a different key.
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.test, json: { name: 'jobs', url: receiver.url } });
    const testEnv = await hs.api(scrapeUrl(), { key: hs.keys.test, headers });
    assert.notEqual(testEnv.body.job_uuid, first.body.job_uuid);
    await until(async () =>
      receiver.received.filter((r) => r.headers['x-scrapfly-webhook-job-id'] === first.body.job_uuid).length === 1 ? true : undefined,
    );
    const { rows } = await hs.db.query('SELECT count(*)::int AS n FROM jobs WHERE env = $1', ['live']);
    assert.equal(rows[0].n, 1);
    const bad = await hs.api(scrapeUrl(), { key: hs.keys.live, headers: { 'idempotency-key': 'x'.repeat(300) } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /Idempotency-Key/);
  });

  it('Idempotency-Key: concurrent twins make one job', async () => {
    const headers = { 'idempotency-key': `twin-${randomUUID()}` };
    const before = (await hs.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;
    const answers = await Promise.all(Array.from({ length: 6 }, () => hs.api(scrapeUrl(), { key: hs.keys.live, headers })));
    const ok = answers.filter((a) => a.status === 200);
    assert.ok(ok.length >= 1);
    for (const a of answers) {
      assert.ok(a.status === 200 || a.body.code === 'ERR::IDEMPOTENCY::IN_PROGRESS', JSON.stringify(a.body));
      if (a.status === 200) assert.equal(a.body.job_uuid, ok[0]!.body.job_uuid);
    }
    assert.equal((await hs.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n, before + 1);
  });

  it('Idempotency-Key on a synchronous scrape returns the same document', async () => {
    const headers = { 'idempotency-key': `sync-${randomUUID()}` };
    const a = await hs.api(`/scrape?url=${encodeURIComponent(page)}`, { key: hs.keys.live, headers });
    const b = await hs.api(`/scrape?url=${encodeURIComponent(page)}`, { key: hs.keys.live, headers });
    assert.equal(a.status, 200);
    assert.equal(b.body.uuid, a.body.uuid);
    assert.equal(b.body.result.content, 'page');
  });

  it('queue limit: many concurrent submissions one below the limit, exactly one accepted; a plan change applies at once', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'small', plan: 'DISCOVERY' } });
    const key = (await hs.api('/admin/projects/small/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
    // A receiver that fails keeps the accepted job pending (on its ladder), so the count cannot drop mid-test.
    const failing = await startReceiver(() => ({ status: 500 }));
    after(() => failing.close());
    const w = await hs.api('/webhooks', { method: 'POST', key, json: { name: 'q', url: failing.url } });
    const project = (await hs.db.query(`SELECT id FROM projects WHERE name = 'small'`)).rows[0].id;
    // 499 deliveries already owed (rows only: no workflows behind them).
    await hs.db.query(
      `INSERT INTO jobs (id, project_id, env, kind, webhook_id, webhook_name, status, delivery_status, params)
       SELECT gen_random_uuid(), $1, 'live', 'scrape', $2, 'q', 'retrying', 'pending', '{}'::jsonb FROM generate_series(1, 499)`,
      [project, w.body.uuid],
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => hs.api(`/scrape?url=${encodeURIComponent(page)}&webhook_name=q`, { key })));
    const accepted = answers.filter((a) => a.status === 200);
    assert.equal(accepted.length, 1, answers.map((a) => a.status).join(','));
    assert.equal(accepted[0]!.body.webhook_queue_limit, 500);
    assert.equal(accepted[0]!.body.webhook_queued_element, 500);
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 429);
      assert.equal(a.body.code, 'ERR::WEBHOOK::QUEUE_FULL');
    }
    assert.equal((await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE project_id = $1`, [project])).rows[0].n, 500);

    await hs.api('/admin/projects/small', { method: 'PATCH', headers: admin, json: { plan: 'PRO' } });
    const more = await hs.api(`/scrape?url=${encodeURIComponent(page)}&webhook_name=q`, { key });
    assert.equal(more.status, 200);
    assert.equal(more.body.webhook_queue_limit, 2000);
  });
});
