// Plan concurrency, checked at the target: a loopback site that holds each
// request and records how many were open at once, in which order they came.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../src/temporalServer/devServer';
import { testEnv } from '../helpers/env';
import { freePort } from '../helpers/net';
import { createTemporalClient } from '../../src/temporal/client';
import { jobWorkflowId } from '../../src/shared/names';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';
import { spawnWorker } from '../helpers/worker';

/** A target that holds each request `holdMs` (or until released) and records the peak of simultaneous requests. */
async function startHoldingTarget(holdMs: number) {
  let open = 0;
  let peak = 0;
  let holding = true;
  const arrivals: string[] = [];
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    open++;
    peak = Math.max(peak, open);
    arrivals.push(new URL(req.url!, 'http://x').searchParams.get('i') ?? '');
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      open--;
    };
    res.on('close', done);
    const answer = () => res.end(`<html><body>page ${req.url}</body></html>`);
    if (!holding) return answer();
    const t = setTimeout(answer, holdMs);
    waiting.push(() => {
      clearTimeout(t);
      answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: (i: number | string) => `${url}?i=${i}`,
    arrivals,
    get open() {
      return open;
    },
    get peak() {
      return peak;
    },
    /** Answer at once from now on. */
    stopHolding() {
      holding = false;
      for (const w of waiting.splice(0)) w();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function usage(hs: TestHookshot, project = 'default') {
  const { rows } = await hs.db.query<{ held: number; waiting: number }>(
    `SELECT (SELECT count(*) FROM capture_leases l JOIN projects p ON p.id = l.project_id WHERE p.name = $1)::int AS held,
            (SELECT count(*) FROM capture_waiters w JOIN projects p ON p.id = w.project_id WHERE p.name = $1)::int AS waiting`,
    [project],
  );
  return rows[0]!;
}

describe('plan concurrency', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.close();
  });

  it('with concurrency 2, ten webhook jobs run two at a time in submission order; a synchronous call meanwhile gets 429', async () => {
    const target = await startHoldingTarget(400);
    const hs = await startTestHookshot();
    const client = await createTemporalClient(hs.temporalAddress, 'default');
    try {
      const patched = await hs.api('/admin/projects/default', { method: 'PATCH', headers: admin, json: { concurrency: 2 } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.effective_concurrency, 2);
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'hook', url: receiver.url } });
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await hs.api(`/scrape?url=${encodeURIComponent(target.url(i))}&webhook_name=hook`, { key: hs.keys.live });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        ids.push(r.body.job_uuid);
      }
      // Both slots busy, the rest in line: queued in the job and in the Web UI.
      await until(async () => {
        const u = await usage(hs);
        return u.held === 2 && u.waiting >= 7 ? true : undefined;
      });
      const last = await hs.api(`/jobs/${ids[9]}`, { key: hs.keys.live });
      assert.equal(last.body.status, 'queued');
      const desc = await client.workflow.getHandle(jobWorkflowId(ids[9]!)).describe();
      assert.deepEqual(desc.searchAttributes.JobStatus, ['queued']);

      const sync = await hs.api(`/scrape?url=${encodeURIComponent(target.url('sync'))}`, { key: hs.keys.live });
      assert.equal(sync.status, 429, JSON.stringify(sync.body));
      assert.equal(sync.body.code, 'ERR::THROTTLE::MAX_CONCURRENT_REQUEST_EXCEEDED');
      assert.equal(sync.body.retryable, true);
      const { rows } = await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE webhook_id IS NULL`);
      assert.equal(rows[0].n, 0, 'a refused synchronous call leaves no job behind');

      await until(async () => {
        const { rows: d } = await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'delivered'`);
        return d[0].n === 10 ? true : undefined;
        // Generous: on a loaded machine a wake-up can miss and wait for the recheck (half a lease).
      }, 150_000);
      assert.equal(target.peak, 2, 'never more than 2 requests at the target at once');
      assert.ok(!target.arrivals.includes('sync'), 'the refused call never reached the target');
      // Submission order: job i starts before job i+2 (two may start together).
      const at = (i: number) => target.arrivals.indexOf(String(i));
      for (let i = 0; i + 2 < 10; i++) assert.ok(at(i) < at(i + 2), `job ${i} started before job ${i + 2}: ${target.arrivals.join(',')}`);
      assert.deepEqual(await usage(hs), { held: 0, waiting: 0 }, 'every slot given back');
    } finally {
      await client.connection.close();
      await hs.close();
      await target.close();
    }
  });

  it('two projects with queues of very different length progress together', async () => {
    const target = await startHoldingTarget(300);
    const hs = await startTestHookshot();
    try {
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: admin, json: { concurrency: 2 } });
      const other = await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'small', plan: 'DISCOVERY' } });
      assert.equal(other.status, 201);
      await hs.api('/admin/projects/small', { method: 'PATCH', headers: admin, json: { concurrency: 2 } });
      const smallKey = (await hs.api('/admin/projects/small/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'hook', url: receiver.url } });
      await hs.api('/webhooks', { method: 'POST', key: smallKey, json: { name: 'hook', url: receiver.url } });
      for (let i = 0; i < 20; i++) {
        await hs.api(`/scrape?url=${encodeURIComponent(target.url(`big-${i}`))}&webhook_name=hook`, { key: hs.keys.live });
      }
      // How far the big project had got when the small one submitted: on a slow
      // machine the 20 submissions alone take long enough for several turnovers.
      const startedBefore = target.arrivals.length;
      for (let i = 0; i < 2; i++) {
        await hs.api(`/scrape?url=${encodeURIComponent(target.url(`small-${i}`))}&webhook_name=hook`, { key: smallKey });
      }
      await until(async () => {
        const { rows } = await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'delivered'`);
        return rows[0].n === 22 ? true : undefined;
      }, 90_000);
      // The small project's jobs did not wait behind the big project's line:
      // once submitted, both started within two turnovers of the big project's 2 slots.
      const at = (id: string) => target.arrivals.indexOf(id);
      const bound = startedBefore + 4;
      assert.ok(at('small-0') < bound && at('small-1') < bound, `${startedBefore} big jobs had started; ${target.arrivals.join(',')}`);
      assert.ok(target.peak <= 4, `peak ${target.peak}: 2 per project`);
    } finally {
      await hs.close();
      await target.close();
    }
  });

  it('queued jobs survive a Temporal server restart and all run, one at a time', async () => {
    const target = await startHoldingTarget(1500);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-temporal-'));
    const port = await freePort();
    const serverOpts = {
      cliPath: testEnv().cliPath!,
      port,
      uiPort: port + 1,
      namespace: 'default',
      headless: true,
      dbFile: path.join(dir, 'temporal.db'),
    };
    let server = await startDevServer(serverOpts);
    // A short capture limit makes the waiters' safety recheck short too, in case a wake-up was lost in the outage.
    const hs = await startTestHookshot({ TEMPORAL_ADDRESS: server.address, SCRAPE_TIMEOUT_MS: '4000' });
    try {
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: admin, json: { concurrency: 1 } });
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'hook', url: receiver.url } });
      for (let i = 0; i < 4; i++) {
        assert.equal((await hs.api(`/scrape?url=${encodeURIComponent(target.url(i))}&webhook_name=hook`, { key: hs.keys.live })).status, 200);
      }
      await until(async () => (target.open === 1 && (await usage(hs)).waiting === 3 ? true : undefined), 30_000);
      await server.stop();
      await new Promise((res) => setTimeout(res, 1000)); // an outage, not just a restart
      server = await startDevServer(serverOpts);
      await until(async () => {
        const { rows } = await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'delivered'`);
        return rows[0].n === 4 ? true : undefined;
      }, 120_000);
      assert.equal(target.peak, 1);
      assert.deepEqual(await usage(hs), { held: 0, waiting: 0 });
    } finally {
      await hs.close();
      await server.stop();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker SIGKILLed while holding slots: the captures resume on another worker, queued jobs survive, no slot leaks', async () => {
    const target = await startHoldingTarget(60_000);
    const hs = await startTestHookshot({ ROLE: 'api' });
    const workers: ChildProcess[] = [];
    try {
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: admin, json: { concurrency: 2 } });
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'hook', url: receiver.url } });
      workers.push(spawnWorker(hs));
      for (let i = 0; i < 5; i++) {
        const r = await hs.api(`/scrape?url=${encodeURIComponent(target.url(i))}&webhook_name=hook`, { key: hs.keys.live });
        assert.equal(r.status, 200);
      }
      // Two captures hang at the target holding both slots; three wait in line.
      await until(async () => (target.open === 2 && (await usage(hs)).waiting === 3 ? true : undefined), 30_000);
      workers[0]!.kill('SIGKILL');
      await new Promise((res) => workers[0]!.once('exit', res));
      await until(async () => (target.open === 0 ? true : undefined));
      target.stopHolding();
      workers.push(spawnWorker(hs));
      await until(async () => {
        const { rows } = await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'delivered'`);
        return rows[0].n === 5 ? true : undefined;
      }, 90_000);
      assert.ok(target.peak <= 2, `peak ${target.peak}`);
      assert.deepEqual(await usage(hs), { held: 0, waiting: 0 }, 'no slot leaked');
    } finally {
      for (const w of workers) w.kill('SIGKILL');
      await hs.close();
      await target.close();
    }
  });
});
