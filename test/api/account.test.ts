import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';

describe('GET /account and the event signing secret', () => {
  let hs: TestHookshot;
  before(async () => {
    hs = await startTestHookshot();
  });
  after(async () => {
    await hs?.close();
  });

  it("shows the key's project, plan, queue and concurrency use, and a stable event secret", async () => {
    const a = await hs.api('/account', { key: hs.keys.live });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.project, 'default');
    assert.equal(a.body.env, 'live');
    assert.equal(a.body.webhook_queued, 0);
    assert.equal(a.body.concurrency_in_use, 0);
    assert.equal(typeof a.body.webhook_queue_limit, 'number');
    assert.equal(typeof a.body.concurrency_limit, 'number');
    assert.match(a.body.event_signing_secret, /^[0-9a-f]{64}$/);
    assert.equal((await hs.api('/account', { key: hs.keys.live })).body.event_signing_secret, a.body.event_signing_secret);
    // Each environment has its own.
    const t = await hs.api('/account', { key: hs.keys.test });
    assert.equal(t.body.env, 'test');
    assert.notEqual(t.body.event_signing_secret, a.body.event_signing_secret);
  });

  it('rotates the secret: the new one is shown from then on, the other environment keeps its own', async () => {
    const before = (await hs.api('/account', { key: hs.keys.live })).body.event_signing_secret;
    const other = (await hs.api('/account', { key: hs.keys.test })).body.event_signing_secret;
    const r = await hs.api('/account/rotate-event-secret', { method: 'POST', key: hs.keys.live });
    assert.equal(r.status, 200);
    assert.notEqual(r.body.event_signing_secret, before);
    assert.equal((await hs.api('/account', { key: hs.keys.live })).body.event_signing_secret, r.body.event_signing_secret);
    assert.equal((await hs.api('/account', { key: hs.keys.test })).body.event_signing_secret, other);
  });

  it('reflects the operator concurrency setting; needs a key; refuses parameters', async () => {
    await hs.api('/admin/projects/default', { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { concurrency: 3 } });
    assert.equal((await hs.api('/account', { key: hs.keys.live })).body.concurrency_limit, 3);
    const noKey = await hs.api('/account');
    assert.equal(noKey.status, 401);
    assert.equal(noKey.body.code, 'ERR::AUTH::MISSING_KEY');
    const bad = await hs.api('/account?x=1', { key: hs.keys.live });
    assert.equal(bad.status, 400);
  });
});
