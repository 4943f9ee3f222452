// Stored delivery payloads: cut at DELIVERY_PAYLOAD_MAX_BYTES with a flag,
// and swept after DELIVERY_PAYLOAD_RETENTION while the attempt rows stay.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { migrate } from '../../src/db/migrate';
import { bootstrapDefaultProject } from '../../src/db/repositories/projects';
import { insertJob, recordAttempt, sweepExpiredPayloads } from '../../src/db/repositories/jobs';
import { freshDatabase, type TestDatabase } from '../helpers/env';

describe('delivery payload storage', () => {
  let d: TestDatabase;
  let jobId: string;
  before(async () => {
    d = await freshDatabase();
    await migrate(d.pool);
    await bootstrapDefaultProject(d.pool);
    const projectId = (await d.pool.query<{ id: string }>('SELECT id FROM projects')).rows[0]!.id;
    jobId = randomUUID();
    await insertJob(
      d.pool,
      { id: jobId, project_id: projectId, env: 'live', kind: 'scrape', webhook_id: null, webhook_name: 'w', params: {} },
      'pending',
    );
  });
  after(async () => {
    await d?.drop();
  });

  const attempt = (n: number) => ({
    job_id: jobId,
    webhook_id: null,
    series: 0,
    attempt: n,
    started_at: new Date(),
    duration_ms: 5,
    url: 'http://x/',
    final_url: null,
    success: false,
    status_code: 500,
    error_code: 'ERR::WEBHOOK::ENDPOINT_ERROR',
    error_message: 'HTTP 500',
    request_headers: {},
    response_headers: null,
    response_snippet: 'no',
  });
  const payloads = async () =>
    (
      await d.pool.query<{ attempt: number; body: Buffer; size_bytes: number; truncated: boolean }>(
        'SELECT a.attempt, p.body, p.size_bytes, p.truncated FROM attempt_payloads p JOIN delivery_attempts a ON a.id = p.attempt_id ORDER BY a.attempt',
      )
    ).rows;

  it('keeps the first N bytes of a payload past the limit, flagged truncated; a retried record overwrites its copy', async () => {
    const body = Buffer.from('{"a":"0123456789abcdef"}');
    await recordAttempt(d.pool, attempt(1), null, { content_type: 'application/json', content_encoding: 'identity', body, maxBytes: 10 });
    let [p] = await payloads();
    assert.ok(p!.body.equals(body.subarray(0, 10)));
    assert.equal(p!.size_bytes, body.length);
    assert.equal(p!.truncated, true);
    await recordAttempt(d.pool, attempt(1), null, { content_type: 'application/json', content_encoding: 'identity', body, maxBytes: 1024 });
    [p] = await payloads();
    assert.ok(p!.body.equals(body));
    assert.equal(p!.truncated, false);
    // 0 keeps none; no payload (nothing sent) keeps none.
    await recordAttempt(d.pool, attempt(2), null, { content_type: 'application/json', content_encoding: 'identity', body, maxBytes: 0 });
    await recordAttempt(d.pool, attempt(3));
    assert.deepEqual(
      (await payloads()).map((x) => x.attempt),
      [1],
    );
  });

  it('sweeps payloads past the retention and keeps every attempt row', async () => {
    await recordAttempt(d.pool, attempt(4), null, {
      content_type: 'application/json',
      content_encoding: 'identity',
      body: Buffer.from('{}'),
      maxBytes: 1024,
    });
    await d.pool.query(
      `UPDATE attempt_payloads SET created_at = now() - interval '8 days' WHERE attempt_id = (SELECT id FROM delivery_attempts WHERE attempt = 1)`,
    );
    const week = 7 * 24 * 3600 * 1000;
    assert.equal(await sweepExpiredPayloads(d.pool, week), 1);
    assert.deepEqual(
      (await payloads()).map((x) => x.attempt),
      [4],
    );
    assert.equal(await sweepExpiredPayloads(d.pool, week), 0, 'nothing else is due');
    const { rows } = await d.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_attempts WHERE job_id = $1', [jobId]);
    assert.equal(rows[0]!.n, 4, 'the attempt log is whole');
    // A bounded sweep: at most `limit` rows a call.
    await d.pool.query(`UPDATE attempt_payloads SET created_at = now() - interval '8 days'`);
    assert.equal(await sweepExpiredPayloads(d.pool, week, 0), 0);
    assert.equal(await sweepExpiredPayloads(d.pool, week, 5), 1);
  });
});
