import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../../src/db/pool';
import { createMetrics } from '../../src/metrics';

const depth = (text: string) => /^hookshot_webhook_queue_depth (\S+)$/m.exec(text)?.[1];

describe('metrics without a database', () => {
  it('still answer when the queue count fails: the gauge has no sample, the rest is there', async () => {
    const db = { query: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) } as unknown as Db;
    const m = createMetrics(db);
    m.delivery('success', 120);
    const { contentType, text } = await m.render();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(depth(text), undefined);
    assert.match(text, /^# TYPE hookshot_webhook_queue_depth gauge$/m);
    assert.match(text, /^hookshot_deliveries_total\{outcome="success"\} 1$/m);
    assert.match(text, /^hookshot_delivery_duration_seconds_bucket\{le="0\.25"\} 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m);
  });

  it('write NaN as the format spells it', async () => {
    const m = createMetrics({ query: async () => ({ rows: [{ n: 0 }] }) } as unknown as Db);
    // Two scrapes in a row leave the event loop lag histogram empty: its gauges are NaN.
    await m.render();
    const { text } = await m.render();
    assert.doesNotMatch(text, / Nan$/m);
    assert.match(text, /^nodejs_eventloop_lag_mean_seconds NaN$/m);
  });

  it('do not wait on a database that does not answer', async () => {
    const db = { query: () => new Promise(() => undefined) } as unknown as Db;
    const t0 = Date.now();
    const { text } = await createMetrics(db).render();
    assert.equal(depth(text), undefined);
    assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
  });

  it('keep each instance apart (one registry per process, not the global one)', async () => {
    const db = { query: async () => ({ rows: [{ n: 3 }] }) } as unknown as Db;
    const a = createMetrics(db);
    const b = createMetrics(db);
    a.jobFinished('scrape', 'delivered');
    assert.match((await a.render()).text, /^hookshot_jobs_total\{kind="scrape",status="delivered"\} 1$/m);
    assert.doesNotMatch((await b.render()).text, /^hookshot_jobs_total\{/m);
    assert.equal(depth((await b.render()).text), '3');
  });
});
