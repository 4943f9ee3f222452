import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookTester } from '../../../src/commands/webhookTester';
import { AppError } from '../../../src/errors';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';
import { startReceiver, type Receiver } from '../../helpers/receiver';
import { verifyWithPython } from '../../helpers/verify';

describe('webhookTester', () => {
  let env: CommandEnv;
  let ok: Receiver;
  let failing: Receiver;
  before(async () => {
    ok = await startReceiver();
    failing = await startReceiver(() => ({ status: 500, body: 'no' }));
    env = await startCommandEnv();
  });
  after(async () => {
    await env?.close();
    await ok?.close();
    await failing?.close();
  });

  const attempts = async () => (await env.db.query('SELECT count(*)::int AS n FROM delivery_attempts')).rows[0].n;

  it('sends one signed test document and records nothing', async () => {
    const w = await env.insertWebhook('probe', ok.url);
    const { webhook, outcome } = await webhookTester(env, { scope: env.scope, name: 'probe' });
    assert.equal(webhook.id, w.id);
    assert.equal(outcome.success, true);
    assert.equal(outcome.statusCode, 200);
    assert.equal(outcome.errorCode, null);
    assert.equal(ok.received.length, 1);
    const req = ok.received[0]!;
    const doc = JSON.parse(req.body.toString());
    assert.equal(doc.test, true);
    assert.equal(doc.context.project, 'default');
    assert.equal(doc.context.webhook.name, 'probe');
    const verdict = await verifyWithPython(w.signing_secret, req.body, String(req.headers['x-scrapfly-webhook-signature']));
    assert.ok(verdict.ok, verdict.output);
    assert.equal(await attempts(), 0);
    const { rows } = await env.db.query('SELECT consecutive_failed_count FROM webhooks WHERE id = $1', [w.id]);
    assert.equal(rows[0].consecutive_failed_count, 0);
  });

  it('reports a refusing receiver as a failure, without counting it against the webhook', async () => {
    const w = await env.insertWebhook('probe-failing', failing.url);
    const { outcome } = await webhookTester(env, { scope: env.scope, name: 'probe-failing' });
    assert.equal(outcome.success, false);
    assert.equal(outcome.statusCode, 500);
    assert.equal(failing.received.length, 1);
    const { rows } = await env.db.query('SELECT consecutive_failed_count, status FROM webhooks WHERE id = $1', [w.id]);
    assert.deepEqual(rows[0], { consecutive_failed_count: 0, status: 'enabled' });
    assert.equal(await attempts(), 0);
  });

  it("another project's webhook is not found, and nothing is sent", async () => {
    const before = ok.received.length;
    await env.insertWebhook('theirs', ok.url, env.otherScope);
    await assert.rejects(
      webhookTester(env, { scope: env.scope, name: 'theirs' }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    assert.equal(ok.received.length, before);
  });
});
