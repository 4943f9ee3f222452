import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookUpdater } from '../../../src/commands/webhookUpdater';
import { AppError } from '../../../src/errors';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';

describe('webhookUpdater', () => {
  let env: CommandEnv;
  before(async () => {
    env = await startCommandEnv();
  });
  after(async () => {
    await env?.close();
  });

  it('changes the fields given, leaves undefined ones, clears with null', async () => {
    const w = await env.insertWebhook('edit-me', 'http://127.0.0.1:9/old');
    await env.db.query(`UPDATE webhooks SET secret = 's3cret', content_type = 'application/json' WHERE id = $1`, [w.id]);
    const out = await webhookUpdater(env, {
      scope: env.scope,
      name: 'edit-me',
      patch: { url: 'http://127.0.0.1:9/new', content_type: undefined, standard_webhooks: true },
    });
    const { rows } = await env.db.query('SELECT url, secret, content_type, standard_webhooks, signing_secret FROM webhooks WHERE id = $1', [w.id]);
    assert.deepEqual(rows[0], {
      url: 'http://127.0.0.1:9/new',
      secret: 's3cret',
      content_type: 'application/json',
      standard_webhooks: true,
      signing_secret: w.signing_secret,
    });
    assert.equal(out.url, 'http://127.0.0.1:9/new');

    await webhookUpdater(env, { scope: env.scope, name: 'edit-me', patch: { secret: null } });
    const after = await env.db.query('SELECT secret, url FROM webhooks WHERE id = $1', [w.id]);
    assert.deepEqual(after.rows[0], { secret: null, url: 'http://127.0.0.1:9/new' });
  });

  it("another project's webhook of that name is not found, and stays as it was", async () => {
    const theirs = await env.insertWebhook('theirs', 'http://127.0.0.1:9/theirs', env.otherScope);
    await assert.rejects(
      webhookUpdater(env, { scope: env.scope, name: 'theirs', patch: { url: 'http://127.0.0.1:9/hijacked' } }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    const { rows } = await env.db.query('SELECT url FROM webhooks WHERE id = $1', [theirs.id]);
    assert.equal(rows[0].url, 'http://127.0.0.1:9/theirs');
  });
});
