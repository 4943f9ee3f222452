// The capture-slot functions on real PostgreSQL: exact under concurrent
// requests, served in line order, expired leases reclaimed.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../src/db/migrate';
import { createProject } from '../../src/db/repositories/projects';
import { acquireCaptureSlot, enqueueCapture, releaseCaptureSlot, type SlotRequest } from '../../src/db/repositories/captureSlots';
import { withTransaction } from '../../src/db/pool';
import { freshDatabase, type TestDatabase } from '../helpers/env';

describe('capture slots in PostgreSQL', () => {
  const dbs: TestDatabase[] = [];
  after(async () => {
    for (const d of dbs) await d.drop();
  });
  const setup = async () => {
    const d = await freshDatabase();
    dbs.push(d);
    await migrate(d.pool);
    const p = await createProject(d.pool, { name: `p${dbs.length}`, plan: 'PRO' });
    const req = (holder: string, limit = 5, ttlMs = 60_000): SlotRequest => ({ projectId: p.id, holder, limit, ttlMs, grantTtlMs: 60_000 });
    return { d, p, req };
  };

  it('grants exactly the limit to 40 concurrent requests and queues the rest', async () => {
    const { d, req } = await setup();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => acquireCaptureSlot(d.pool, { ...req(`h${i}`), wait: true })));
    assert.equal(answers.filter((a) => a.state === 'granted').length, 5);
    assert.equal(answers.filter((a) => a.state === 'queued').length, 35);
    const { rows } = await d.pool.query('SELECT count(*)::int AS n FROM capture_leases');
    assert.equal(rows[0].n, 5);
    // A synchronous request does not pass the line.
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('sync'), wait: false })).state, 'full');
  });

  it('serves the line in submission order, and wakes only holders that asked', async () => {
    const { d, req } = await setup();
    // Submitted in order a, b, c, d (joined the line inside their submission transaction).
    for (const h of ['a', 'b', 'c', 'd']) await withTransaction(d.pool, (c) => enqueueCapture(c, req(h).projectId, h));
    // d asks first: a and b (the head, limit 2) get the slots, d waits.
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('d', 2), wait: true })).state, 'queued');
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('a', 2), wait: true })).state, 'granted');
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('c', 2), wait: true })).state, 'queued');
    // a is done: b already holds its slot, so c (next in line, and parked) is woken.
    assert.deepEqual(await releaseCaptureSlot(d.pool, req('a', 2)), ['c']);
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('b', 2), wait: true })).state, 'granted');
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('c', 2), wait: true })).state, 'granted');
    assert.deepEqual(await releaseCaptureSlot(d.pool, req('b', 2)), ['d']);
  });

  it('a holder asking again keeps its slot; an expired lease is reclaimed for the line', async () => {
    const { d, req } = await setup();
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('x', 1, 200), wait: true })).state, 'granted');
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('x', 1, 200), wait: true })).state, 'granted', 'a retried activity keeps its slot');
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('y', 1, 200), wait: true })).state, 'queued');
    await new Promise((r) => setTimeout(r, 250)); // x's holder vanished: its lease runs out
    assert.equal((await acquireCaptureSlot(d.pool, { ...req('y', 1, 200), wait: true })).state, 'granted');
  });
});
