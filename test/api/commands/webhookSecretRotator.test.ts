import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookSecretRotator } from '../../../src/commands/webhookSecretRotator';
import { AppError } from '../../../src/errors';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';

describe('webhookSecretRotator', () => {
  let env: CommandEnv;
  before(async () => {
    env = await startCommandEnv();
  });
  after(async () => {
    await env?.close();
  });

  it('stores a new signing secret and returns it', async () => {
    const w = await env.insertWebhook('rotate-me', 'http://127.0.0.1:9/in');
    const out = await webhookSecretRotator(env, { scope: env.scope, name: 'rotate-me' });
    assert.notEqual(out.signing_secret, w.signing_secret);
    const { rows } = await env.db.query('SELECT signing_secret FROM webhooks WHERE id = $1', [w.id]);
    assert.equal(rows[0].signing_secret, out.signing_secret);
    const again = await webhookSecretRotator(env, { scope: env.scope, name: 'rotate-me' });
    assert.notEqual(again.signing_secret, out.signing_secret);
  });

  it("another project's webhook is not found, and keeps its secret", async () => {
    const theirs = await env.insertWebhook('theirs', 'http://127.0.0.1:9/in', env.otherScope);
    await assert.rejects(
      webhookSecretRotator(env, { scope: env.scope, name: 'theirs' }),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    const { rows } = await env.db.query('SELECT signing_secret FROM webhooks WHERE id = $1', [theirs.id]);
    assert.equal(rows[0].signing_secret, theirs.signing_secret);
  });
});
