import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startHttpsReceiver } from '../helpers/httpsReceiver';
import { until } from '../helpers/wait';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freshDatabase, testEnv } from '../helpers/env';
import { freePort } from '../helpers/net';
import { repoRoot } from '../../src/repoRoot';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Reads the text exposition format 0.0.4 strictly: every line is a HELP or
 * TYPE comment or one sample, every sample belongs to a declared family.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const value = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|NaN|[+-]Inf)';
  const label = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"`;
  const sampleRe = new RegExp(`^(${name})(?:\\{((?:${label})(?:,${label})*)?,?\\})? (${value})(?: -?\\d+)?$`);
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if (new RegExp(`^# HELP (${name}) .*$`).test(line)) continue;
    if ((m = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      assert.ok(!types.has(m[1]!), `TYPE declared twice: ${m[1]}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = sampleRe.exec(line);
    assert.ok(m, `not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const family = m[1]!.replace(/_(bucket|sum|count|total|created)$/, '');
    assert.ok(types.has(m[1]!) || types.has(family), `sample of an undeclared family: ${m[1]}`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]!.replace('Inf', 'Infinity')) });
  }
  return { types, samples };
}

const valueOf = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

/** A receiver that keeps each request open until released: a delivery in flight. */
async function startHeldReceiver() {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    release: () => held.splice(0).forEach((res) => res.writeHead(200).end('ok')),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('GET /metrics', () => {
  let hs: TestHookshot;
  let site: http.Server;
  let siteUrl: string;
  let ok: Receiver;
  let bad: Receiver;
  let held: Awaited<ReturnType<typeof startHeldReceiver>>;

  before(async () => {
    site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('page'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    ok = await startReceiver(() => ({ status: 200 }));
    bad = await startReceiver(() => ({ status: 500, body: 'down' }));
    held = await startHeldReceiver();
    // Two attempts per job; two failures in a row disable the failing webhook.
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms', WEBHOOK_DISABLE_AFTER: '2', METRICS_PORT: '0' });
  });
  after(async () => {
    held?.release();
    await hs?.close();
    await Promise.all([ok?.close(), bad?.close(), held?.close()]);
    await new Promise<void>((r) => (site ? (site.closeAllConnections(), site.close(() => r())) : r()));
  });

  const scrape = async (from: string) => {
    const r = await fetch(from);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4(;|$)/);
    return parseExposition(await r.text());
  };
  const metrics = () => scrape(`${hs.apiUrl}/metrics`);
  const submit = async (webhook: string) => {
    const r = await hs.api(`/scrape?url=${encodeURIComponent(siteUrl)}&webhook_name=${webhook}`, { key: hs.keys.live });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.job_uuid as string;
  };
  const settled = (jobId: string) =>
    until(async () => {
      const j = await hs.api(`/jobs/${jobId}`, { key: hs.keys.live });
      return j.body.status === 'delivered' || j.body.status === 'failed' ? (j.body.status as string) : undefined;
    }, 30_000);

  it('needs no key, parses as Prometheus text, and has every family with the Node process metrics', async () => {
    const { types, samples } = await metrics();
    assert.equal(types.get('hookshot_deliveries_total'), 'counter');
    assert.equal(types.get('hookshot_delivery_duration_seconds'), 'histogram');
    assert.equal(types.get('hookshot_jobs_total'), 'counter');
    assert.equal(types.get('hookshot_webhook_queue_depth'), 'gauge');
    assert.equal(types.get('hookshot_webhooks_disabled_total'), 'counter');
    assert.ok(types.has('process_cpu_user_seconds_total') && types.has('nodejs_eventloop_lag_seconds'), 'Node process metrics');
    assert.equal(valueOf(samples, 'hookshot_deliveries_total', { outcome: 'success' }), 0);
    assert.equal(valueOf(samples, 'hookshot_deliveries_total', { outcome: 'failure' }), 0);
    assert.equal(valueOf(samples, 'hookshot_webhook_queue_depth'), 0);
  });

  it('counts deliveries, finished jobs and disables; the queue gauge follows pending deliveries', async () => {
    for (const [name, url] of [
      ['ok', ok.url],
      ['bad', bad.url],
      ['held', held.url],
    ]) {
      const r = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name, url } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    // A delivery in flight: its job owes a delivery until the receiver answers.
    const heldJob = await submit('held');
    await until(async () => (held.held.length > 0 ? true : undefined), 20_000);
    assert.equal(valueOf((await metrics()).samples, 'hookshot_webhook_queue_depth'), 1);
    held.release();
    assert.equal(await settled(heldJob), 'delivered');

    assert.equal(await settled(await submit('ok')), 'delivered');
    assert.equal(await settled(await submit('bad')), 'failed');
    assert.equal(bad.received.length, 2);

    // The counts land just after the rows the job API reads: poll briefly.
    const want = {
      success: 2,
      failure: 2,
      delivered: 2,
      failed: 1,
      disabled: 1,
    };
    const got = await until(async () => {
      const { samples } = await metrics();
      const now = {
        success: valueOf(samples, 'hookshot_deliveries_total', { outcome: 'success' }),
        failure: valueOf(samples, 'hookshot_deliveries_total', { outcome: 'failure' }),
        delivered: valueOf(samples, 'hookshot_jobs_total', { kind: 'scrape', status: 'delivered' }),
        failed: valueOf(samples, 'hookshot_jobs_total', { kind: 'scrape', status: 'failed' }),
        disabled: valueOf(samples, 'hookshot_webhooks_disabled_total', { reason: 'consecutive_failures' }),
      };
      return JSON.stringify(now) === JSON.stringify(want) ? samples : undefined;
    }, 10_000).catch(async (err: Error) => {
      throw new Error(
        `${err.message}: ${(await (await fetch(`${hs.apiUrl}/metrics`)).text())
          .split('\n')
          .filter((l) => l.startsWith('hookshot_'))
          .join('\n')}`,
      );
    });

    assert.equal(valueOf(got, 'hookshot_delivery_duration_seconds_count'), 4);
    assert.ok(valueOf(got, 'hookshot_delivery_duration_seconds_sum')! > 0);
    assert.equal(valueOf(got, 'hookshot_delivery_duration_seconds_bucket', { le: '+Inf' }), 4);
    // Buckets are cumulative.
    const buckets = got.filter((s) => s.name === 'hookshot_delivery_duration_seconds_bucket').map((s) => s.value);
    assert.deepEqual(
      [...buckets].sort((a, b) => a - b),
      buckets,
    );
    assert.equal(valueOf(got, 'hookshot_webhook_queue_depth'), 0);
    assert.equal(valueOf(got, 'hookshot_webhooks_disabled_total', { reason: 'manual' }), 0);
    assert.equal(valueOf(got, 'hookshot_jobs_total', { kind: 'scrape', status: 'done' }), undefined, 'no job without a webhook ran');
  });

  it('METRICS_PORT serves the same registry, and nothing else', async () => {
    assert.ok(hs.metricsUrl);
    const { samples } = await scrape(hs.metricsUrl);
    assert.equal(valueOf(samples, 'hookshot_deliveries_total', { outcome: 'success' }), 2);
    const other = await fetch(new URL('/healthz', hs.metricsUrl));
    assert.equal(other.status, 404);
  });

  it('counts crawl event deliveries too (the same sender as named webhooks)', async () => {
    const success = async () => valueOf((await metrics()).samples, 'hookshot_deliveries_total', { outcome: 'success' })!;
    const before = await success();
    const rx = await startHttpsReceiver(() => ({ status: 200 }));
    try {
      const r = await hs.api('/v2/batch/scrape', {
        method: 'POST',
        headers: { authorization: `Bearer ${hs.keys.live}` },
        json: { urls: [siteUrl], webhook: { url: `${rx.url}/hook` } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const ended = () => rx.received.some((x) => /\.(completed|failed)$/.test(JSON.parse(x.body.toString()).type));
      await until(async () => (ended() ? true : undefined), 30_000);
      // Every event the receiver got was one successful attempt.
      await until(async () => ((await success()) === before + rx.received.length ? true : undefined), 10_000).catch(async () => {
        assert.fail(`success ${await success()}, expected ${before} + ${rx.received.length} events`);
      });
      assert.ok(rx.received.length >= 2, `${rx.received.length} events`);
    } finally {
      await rx.close();
    }
  });

  it('a worker-only process (no API) is scraped on METRICS_PORT', async () => {
    const worker = await startTestHookshot({ ROLE: 'worker', METRICS_PORT: '0' });
    try {
      assert.equal(worker.apiUrl, null);
      const { types } = await scrape(worker.metricsUrl!);
      assert.equal(types.get('hookshot_deliveries_total'), 'counter');
    } finally {
      await worker.close();
    }
  });

  it('TEMPORAL_SDK_METRICS_PORT exports the SDK worker metrics of a real worker process', async () => {
    // A process of its own: the SDK installs one runtime per process, and this one's is taken.
    const { temporalAddress } = testEnv();
    const db = await freshDatabase();
    const [sdkPort, metricsPort] = [await freePort(), await freePort()];
    const taskQueue = `sdk-metrics-${randomBytes(4).toString('hex')}`;
    const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'main.js')], {
      env: {
        ...process.env,
        ROLE: 'worker',
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        TEMPORAL_SDK_METRICS_PORT: String(sdkPort),
        METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // The worker's pollers, labelled with its queue, once it polls.
      const pollers = new RegExp(`^temporal_num_pollers\\{[^}]*poller_type="workflow_task"[^}]*task_queue="${taskQueue}"[^}]*\\} [1-9]`, 'm');
      await until(async () => {
        const r = await fetch(`http://127.0.0.1:${sdkPort}/metrics`).catch(() => null);
        return r?.ok && pollers.test(await r.text()) ? true : undefined;
      }, 30_000);
      // Our own registry stays on METRICS_PORT, apart from the SDK's. Its
      // server may start listening a moment after the worker polls.
      const ours = await until(async () => {
        const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => null);
        return r?.ok ? r.text() : undefined;
      }, 10_000);
      assert.match(ours, /^# TYPE hookshot_deliveries_total counter$/m);
      assert.doesNotMatch(ours, /^temporal_num_pollers/m);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill('SIGKILL');
      await db.drop();
    }
  });
});
