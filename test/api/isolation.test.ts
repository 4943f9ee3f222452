import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config';
import { operations } from '../../src/api/openapi';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';

describe('isolation between projects and environments', () => {
  let hs: TestHookshot;
  let site: http.Server;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let otherProjectKey: string;
  let jobId: string;
  let crawlId: string;
  let batchId: string;
  let crawlerId: string;
  let webhookBefore: unknown;

  before(async () => {
    site = http.createServer((_q, s) => s.end('page'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    receiver = await startReceiver(() => ({ status: 500 }));
    // Disable after 4: the failed job's 2 attempts reach 50 % and leave the owner a warning notice.
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms', WEBHOOK_DISABLE_AFTER: '4' });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'other', plan: 'PRO' } });
    otherProjectKey = (await hs.api('/admin/projects/other/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
    // The owner: webhook "shared-name" in default/live, with one failed job.
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'shared-name', url: receiver.url, secret: 'owner' } });
    const page = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    jobId = (await hs.api(`/scrape?url=${encodeURIComponent(page)}&webhook_name=shared-name`, { key: hs.keys.live })).body.job_uuid;
    await until(async () => ((await hs.api(`/jobs/${jobId}`, { key: hs.keys.live })).body.status === 'failed' ? true : undefined));
    await until(async () => ((await hs.api('/notifications', { key: hs.keys.live })).body.notifications.length > 0 ? true : undefined));
    // The entity settles after the job ends: snapshot once both failures are counted.
    webhookBefore = await until(async () => {
      const w = (await hs.api('/webhooks/shared-name', { key: hs.keys.live })).body;
      return w.consecutive_failed_count === 2 ? w : undefined;
    });
    // And one crawl and one batch, read by id under /v1 and /v2.
    crawlId = (await hs.api('/v2/crawl', { method: 'POST', key: hs.keys.live, json: { url: page, limit: 1 } })).body.id;
    batchId = (await hs.api('/v2/batch/scrape', { method: 'POST', key: hs.keys.live, json: { urls: [page] } })).body.id;
    // And a Scrapfly crawler, read by uuid under /crawl.
    crawlerId = (await hs.api('/crawl', { method: 'POST', key: hs.keys.live, json: { url: page, page_limit: 1 } })).body.crawler_uuid;
    assert.ok(crawlId && batchId && crawlerId);
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
    site?.closeAllConnections();
    await new Promise((r) => site?.close(r));
  });

  it('every key-authenticated endpoint hides the other tenant’s webhooks and jobs', async () => {
    const outsiders = { 'same project, test env': hs.keys.test, 'other project': otherProjectKey };
    const ops = operations(loadConfig({})).filter((o) => o.auth === 'key');
    let checked = 0;
    const ownerSecret = (await hs.api('/account', { key: hs.keys.live })).body.event_signing_secret;
    for (const [who, key] of Object.entries(outsiders)) {
      for (const op of ops) {
        const path = op.path.replace(':name', 'shared-name').replace(':uuid', jobId);
        const method = op.method.toUpperCase();
        const label = `${who}: ${method} ${op.path}`;
        if (/^\/v[12]\/(crawl|batch\/scrape)$/.test(op.path)) {
          // Starting a crawl is the outsider's own business: it is theirs, and owner ids stay hidden (below).
          checked++;
          continue;
        } else if (/^\/v[12]\/(crawl|batch\/scrape)\/:id$/.test(op.path)) {
          for (const id of [crawlId, batchId]) {
            const r = await hs.api(op.path.replace(':id', id), { method, key });
            assert.equal(r.status, 404, `${label} ${id} → ${r.status}`);
            assert.equal(r.body.code, 'ERR::CRAWL::NOT_FOUND', label);
            assert.equal(r.body.success, false, label);
          }
        } else if (op.path === '/crawl') {
          // As a Firecrawl crawl: starting one is the outsider's own business; a webhook of the owner's does not exist for it.
          const r = await hs.api('/crawl', { method, key, json: { url: 'http://127.0.0.1:9/', webhook_name: 'shared-name' } });
          assert.equal(r.status, 400, label);
          assert.equal(r.body.code, 'ERR::WEBHOOK::NOT_FOUND', label);
        } else if (op.path.startsWith('/crawl/:uuid')) {
          const bodyless = op.path.endsWith('/contents/batch') ? { headers: { 'content-type': 'text/plain' }, body: 'http://127.0.0.1:9/' } : {};
          const r = await hs.api(`${op.path.replace(':uuid', crawlerId)}?formats=html`, { method, key, ...bodyless });
          assert.equal(r.status, 404, `${label} → ${r.status} ${JSON.stringify(r.body)}`);
          assert.equal(r.body.code, 'ERR::CRAWLER::NOT_FOUND', label);
        } else if (op.path === '/scrape' || op.path === '/screenshot') {
          const r = await hs.api(`${op.path}?url=${encodeURIComponent('http://127.0.0.1:9/')}&webhook_name=shared-name`, { method, key });
          assert.equal(r.status, 404, label);
          assert.equal(r.body.code, 'ERR::WEBHOOK::NOT_FOUND', label);
        } else if (op.path.startsWith('/account')) {
          // A key sees and rotates only its own environment's account.
          const r = await hs.api(op.path, { method, key });
          assert.equal(r.status, 200, label);
          assert.notEqual(r.body.event_signing_secret, ownerSecret, label);
          assert.ok(!(r.body.project === 'default' && r.body.env === 'live'), label);
        } else if (op.path === '/notifications') {
          const r = await hs.api('/notifications', { key });
          assert.equal(r.status, 200, label);
          assert.deepEqual(r.body.notifications, [], label);
        } else if (op.path === '/webhooks' && method === 'GET') {
          const r = await hs.api('/webhooks', { key });
          assert.equal(r.status, 200, label);
          assert.ok(!r.body.data.some((w: { name: string }) => w.name === 'shared-name'), label);
        } else if (op.path === '/webhooks' && method === 'POST') {
          // The same name is free in another tenant: creating it there touches nothing of the owner's.
          const r = await hs.api('/webhooks', { method, key, json: { name: 'shared-name', url: 'https://example.invalid/x' } });
          assert.equal(r.status, 201, label);
          assert.equal((await hs.api('/webhooks/shared-name', { method: 'DELETE', key })).status, 204, label);
        } else {
          const json = method === 'PATCH' ? { secret: 'stolen' } : method === 'POST' ? {} : undefined;
          const r = await hs.api(path, { method, key, ...(json !== undefined ? { json } : {}) });
          assert.equal(r.status, 404, `${label} → ${r.status} ${JSON.stringify(r.body)}`);
          assert.match(r.body.code, op.path.startsWith('/jobs') ? /^ERR::JOB::NOT_FOUND$/ : /^ERR::WEBHOOK::NOT_FOUND$/, label);
        }
        checked++;
      }
    }
    assert.equal(checked, ops.length * 2);
    // Nothing of the owner's changed.
    assert.equal((await hs.api('/account', { key: hs.keys.live })).body.event_signing_secret, ownerSecret);
    assert.deepEqual((await hs.api('/webhooks/shared-name', { key: hs.keys.live })).body, webhookBefore);
    const job = (await hs.api(`/jobs/${jobId}`, { key: hs.keys.live })).body;
    // Outsiders' DELETEs cancelled nothing of the owner's.
    for (const id of [crawlId, batchId]) assert.notEqual((await hs.api(`/v2/crawl/${id}`, { key: hs.keys.live })).body.status, 'cancelled');
    assert.notEqual((await hs.api(`/crawl/${crawlerId}/status`, { key: hs.keys.live })).body.status, 'CANCELLED');
    assert.equal(job.status, 'failed');
    assert.ok(
      job.attempts.every((a: { series: number }) => a.series === 0),
      'no replay happened',
    );
  });
});
