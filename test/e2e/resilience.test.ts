import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../../src/temporalServer/devServer';
import { startTestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startPageServer } from '../helpers/site';
import { freePort } from '../helpers/net';
import { testEnv } from '../helpers/env';
import { until } from '../helpers/wait';
import { spawnWorker } from '../helpers/worker';

describe('resilience', () => {
  it('a worker killed mid-attempt loses nothing: another worker makes the attempt again', async () => {
    const site = await startPageServer();
    const held: http.ServerResponse[] = [];
    const jobIds: string[] = [];
    let firstArrived!: () => void;
    const arrived = new Promise<void>((r) => (firstArrived = r));
    const receiver = http.createServer((req, res) => {
      jobIds.push(String(req.headers['x-scrapfly-webhook-job-id']));
      req.resume();
      if (jobIds.length === 1) {
        held.push(res); // never answered: the worker dies waiting
        firstArrived();
      } else {
        res.end('ok');
      }
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const hs = await startTestHookshot({ ROLE: 'api' });
    const workers: ChildProcess[] = [];
    try {
      workers.push(spawnWorker(hs));
      await hs.api('/webhooks', {
        method: 'POST',
        key: hs.keys.live,
        json: { name: 'slow', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` },
      });
      const r = await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=slow`, { key: hs.keys.live });
      assert.equal(r.status, 200);
      await arrived;
      workers[0]!.kill('SIGKILL');
      await new Promise((res) => workers[0]!.once('exit', res));
      workers.push(spawnWorker(hs));
      const job = await until(async () => {
        const j = await hs.api(`/jobs/${r.body.job_uuid}`, { key: hs.keys.live });
        return j.body.status === 'delivered' ? j.body : undefined;
      }, 60_000);
      assert.deepEqual(jobIds, [r.body.job_uuid, r.body.job_uuid], 'the same Job-Id on the repeated attempt: receivers dedupe on it');
      assert.equal(job.attempts.length, 1, 'the repeated attempt is the same attempt, recorded once');
      assert.equal(job.attempts[0].success, true);
    } finally {
      for (const w of workers) w.kill('SIGKILL');
      for (const res of held) res.destroy();
      receiver.closeAllConnections();
      await new Promise((res) => receiver.close(res));
      await hs.close();
      await site.close();
    }
  });

  it('the ladder resumes after the Temporal server stops and restarts on the same SQLite file', async () => {
    const site = await startPageServer();
    const receiver = await startReceiver((_r, i) => (i === 0 ? { status: 500 } : { status: 200 }));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-temporal-'));
    const port = await freePort();
    const cliPath = testEnv().cliPath!;
    const serverOpts = { cliPath, port, uiPort: port + 1, namespace: 'default', headless: true, dbFile: path.join(dir, 'temporal.db') };
    let server = await startDevServer(serverOpts);
    const hs = await startTestHookshot({ TEMPORAL_ADDRESS: server.address, WEBHOOK_RETRY_SCHEDULE: '5s' });
    try {
      await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'later', url: receiver.url } });
      const r = await hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=later`, { key: hs.keys.live });
      assert.equal(r.status, 200);
      await receiver.waitFor(1);
      await until(async () => ((await hs.api(`/jobs/${r.body.job_uuid}`, { key: hs.keys.live })).body.status === 'retrying' ? true : undefined));
      // Mid-ladder: the 5 s timer is pending inside the server when it goes away.
      await server.stop();
      // A second of outage: the timer must survive the server being away, not just a restart.
      await new Promise((res) => setTimeout(res, 1000));
      server = await startDevServer(serverOpts);
      const job = await until(async () => {
        const j = await hs.api(`/jobs/${r.body.job_uuid}`, { key: hs.keys.live });
        return j.body.status === 'delivered' ? j.body : undefined;
      }, 60_000);
      assert.deepEqual(
        job.attempts.map((a: { status_code: number }) => a.status_code),
        [500, 200],
      );
      assert.equal(receiver.received.length, 2);
    } finally {
      await hs.close();
      await server.stop();
      await receiver.close();
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
