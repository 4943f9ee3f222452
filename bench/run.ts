// npm run bench: throughput and latency measured in one run on loopback, so
// the figures compare as ratios. Writes bench/results/<time>.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startHookshot } from '../src/runtime';
import { resolveTemporalCli, startDevServer } from '../src/temporal/devServer';
import { repoRoot } from '../src/shared/repoRoot';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { bootstrapDefaultProject } from '../src/db/repositories/projects';
import { acquireCaptureSlot, releaseCaptureSlot } from '../src/db/repositories/captureSlots';
import { startCrawlSite } from '../test/helpers/crawlSite';
import { measureHistoryPage } from './history';

const N = Number(process.env.BENCH_JOBS ?? 300);
const CRAWL_PAGES = Number(process.env.BENCH_CRAWL_PAGES ?? 2000);
const peakOf = (r: unknown) => (r as { per_second: number }).per_second;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 20);
const ADMIN_DB = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Resident memory of this process's descendants whose command line matches. */
function childRss(match: string): number {
  const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(d), Number(fields[1]));
      rss.set(Number(d), Number(fields[21]) * 4096);
      cmd.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8'));
    } catch {
      /* gone */
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid), n = 0; p !== undefined && n < 64; p = parents.get(p), n++) if (p === process.pid) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, bytes] of rss) if (cmd.get(pid)?.includes(match) && isDescendant(pid)) sum += bytes;
  return sum;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};
const summary = (lat: number[]) => ({ p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), n: lat.length });

/** Runs fn(i) for i < n with at most `limit` in flight. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

/** Open loop: starts fn at `rate` per second for `seconds`, whatever the backlog. */
async function openLoop(rate: number, seconds: number, fn: () => Promise<void>) {
  const total = Math.max(1, Math.round(rate * seconds));
  const started: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    started.push(fn());
  }
  await Promise.all(started);
}

async function main() {
  const cliPath = await resolveTemporalCli(process.env.TEMPORAL_CLI);
  const net = await import('node:net');
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
  const tport = await freePort();
  const dev = await startDevServer({ cliPath, port: tport, uiPort: tport + 1, namespace: 'default', headless: true });
  const dbName = `hookshot_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DB });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = Object.assign(new URL(ADMIN_DB), { pathname: `/${dbName}` }).toString();

  // The receiver: every bench posts here; receipt times are keyed by job id.
  const receipts = new Map<string, number>();
  let posts = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      const id = req.headers['x-scrapfly-webhook-job-id'];
      if (typeof id === 'string') receipts.set(id, performance.now());
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const site = http.createServer((_q, s) => s.end('<html><body>tiny</body></html>'));
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;

  const results: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    params: { jobs: N, concurrency: CONCURRENCY, steady_seconds: STEADY_SECONDS },
  };

  try {
    // (a) raw HTTP POST loop: the physical limit of the receiver on loopback.
    {
      const http1 = new Pool(receiverUrl, { connections: CONCURRENCY });
      const body = Buffer.alloc(1024, 'a');
      const n = N * 10;
      const t0 = performance.now();
      await pool(n, CONCURRENCY, async () => {
        const r = await http1.request({ path: '/', method: 'POST', body });
        await r.body.dump();
      });
      const s = (performance.now() - t0) / 1000;
      results.a_raw_http = { requests: n, per_second: Math.round(n / s) };
      await http1.close();
      console.log('(a) raw HTTP', results.a_raw_http);
    }

    // (b) the same Temporal server: an empty workflow with one no-op activity.
    {
      const { code } = await bundleWorkflowCode({ workflowsPath: path.join(repoRoot(), 'dist', 'bench', 'workflows.js') });
      const conn = await NativeConnection.connect({ address: dev.address });
      const taskQueue = `bench-empty-${randomBytes(3).toString('hex')}`;
      const worker = await Worker.create({
        connection: conn,
        taskQueue,
        workflowBundle: { code },
        activities: { noop: async () => undefined },
      });
      const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
      const lat: number[] = [];
      let perSecond = 0;
      await worker.runUntil(async () => {
        const t0 = performance.now();
        await pool(N, CONCURRENCY, async (i) => {
          const s = performance.now();
          await client.workflow.execute('emptyWorkflow', { taskQueue, workflowId: `bench-${taskQueue}-${i}` });
          lat.push(performance.now() - s);
        });
        perSecond = N / ((performance.now() - t0) / 1000);
      });
      results.b_temporal_empty = { workflows: N, per_second: Math.round(perSecond * 10) / 10, latency_ms: summary(lat) };
      await client.connection.close();
      await conn.close();
      console.log('(b) empty workflow', results.b_temporal_empty);
    }

    // (c) Hookshot jobs through the API, scrape of a tiny page, delivered to the receiver.
    {
      const setup = createPool(dbUrl, 2);
      await migrate(setup);
      const keys = (await bootstrapDefaultProject(setup))!;
      await setup.end();
      const env = {
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: dbUrl,
        TEMPORAL_ADDRESS: dev.address,
        TEMPORAL_TASK_QUEUE: `bench-jobs-${randomBytes(3).toString('hex')}`,
        WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
        SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
        LOG_LEVEL: 'warn',
        BROWSER_CONCURRENCY: process.env.BROWSER_CONCURRENCY ?? '2',
      };
      const config = { ...loadConfig(env), env };
      const hs = await startHookshot(config, createLogger('warn'));
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
      const api = new Pool(hs.apiUrl!, { connections: CONCURRENCY });
      await (
        await api.request({
          path: `/webhooks?key=${keys.live}`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench', url: `${receiverUrl}/hook` }),
        })
      ).body.dump();
      const submitted = new Map<string, number>();
      const submit = async () => {
        const s = performance.now();
        const r = await api.request({
          path: `/scrape?key=${keys.live}&webhook_name=bench&url=${encodeURIComponent(siteUrl)}`,
          method: 'GET',
        });
        const b = (await r.body.json()) as { job_uuid?: string };
        if (!b.job_uuid) throw new Error(`submission failed: ${JSON.stringify(b)}`);
        submitted.set(b.job_uuid, s);
      };
      const waitAll = async () => {
        for (let i = 0; i < 1200 && [...submitted.keys()].some((id) => !receipts.has(id)); i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const latencies = () => [...submitted].filter(([id]) => receipts.has(id)).map(([id, s]) => receipts.get(id)! - s);

      const t0 = performance.now();
      await pool(N, CONCURRENCY, submit);
      await waitAll();
      const elapsed = (performance.now() - t0) / 1000;
      const delivered = latencies().length;
      const peak = delivered / elapsed;
      results.c_hookshot_peak = { jobs: N, delivered, per_second: Math.round(peak * 10) / 10, latency_ms: summary(latencies()) };
      console.log('(c) hookshot, closed loop', results.c_hookshot_peak);

      // (c) again with the plan concurrency limit off (CAPTURE_CONCURRENCY=off),
      // same database, project and server: what the capture slots cost a job.
      {
        const off = await startHookshot(
          loadConfig({ ...config.env, TEMPORAL_TASK_QUEUE: `bench-jobs-off-${randomBytes(3).toString('hex')}`, CAPTURE_CONCURRENCY: 'off' }),
          createLogger('warn'),
        );
        const offApi = new Pool(off.apiUrl!, { connections: CONCURRENCY });
        // Closed loops alternate on, off, on, off (the first "on" is the one
        // above), so warm-up and a growing database weigh on both alike.
        const loop = async (via: Pool) => {
          submitted.clear();
          const submitVia = async () => {
            const st = performance.now();
            const r = await via.request({ path: `/scrape?key=${keys.live}&webhook_name=bench&url=${encodeURIComponent(siteUrl)}`, method: 'GET' });
            const b = (await r.body.json()) as { job_uuid?: string };
            if (!b.job_uuid) throw new Error(`submission failed: ${JSON.stringify(b)}`);
            submitted.set(b.job_uuid, st);
          };
          const t = performance.now();
          await pool(N, CONCURRENCY, submitVia);
          await waitAll();
          return latencies().length / ((performance.now() - t) / 1000);
        };
        const off1 = await loop(offApi);
        const on2 = await loop(api);
        const off2 = await loop(offApi);
        const r1 = (x: number) => Math.round(x * 10) / 10;
        results.c_hookshot_peak_without_slots = { jobs: N, runs_per_second: [r1(off1), r1(off2)], per_second: r1((off1 + off2) / 2) };
        results.c_hookshot_peak_with_slots = { jobs: N, runs_per_second: [peakOf(results.c_hookshot_peak), r1(on2)], per_second: r1((peakOf(results.c_hookshot_peak) + on2) / 2) };
        console.log('(c) hookshot with capture slots', results.c_hookshot_peak_with_slots);
        console.log('(c) hookshot without capture slots', results.c_hookshot_peak_without_slots);
        await offApi.close();
        await off.stop();

        // The slots' own database cost: one acquire and one release, one after another.
        const db = createPool(dbUrl, 1);
        const { rows } = await db.query<{ id: string }>("SELECT id FROM projects WHERE name = 'default'");
        const req = { projectId: rows[0]!.id, limit: 100, ttlMs: 60_000, grantTtlMs: 60_000 };
        const pairs = 500;
        const t4 = performance.now();
        for (let i = 0; i < pairs; i++) {
          await acquireCaptureSlot(db, { ...req, holder: `bench-${i}`, wait: true });
          await releaseCaptureSlot(db, { ...req, holder: `bench-${i}` });
        }
        results.capture_slot_pair_ms = Math.round(((performance.now() - t4) / pairs) * 100) / 100;
        console.log('capture slots: one acquire + release', results.capture_slot_pair_ms, 'ms');
        await db.end();
      }

      submitted.clear();
      const rate = Math.max(1, peak / 2);
      await openLoop(rate, STEADY_SECONDS, submit);
      await waitAll();
      results.c_hookshot_half_rate = { rate_per_second: Math.round(rate * 10) / 10, delivered: latencies().length, latency_ms: summary(latencies()) };
      console.log('(c) hookshot at half the peak rate', results.c_hookshot_half_rate);

      // Capture: synchronous scrapes of a small page, then screenshots at the
      // configured browser concurrency; Chromium's processes count in the memory.
      {
        const scrapeN = Math.max(50, Math.round(N / 2));
        const lat: number[] = [];
        const t1 = performance.now();
        await pool(scrapeN, CONCURRENCY, async () => {
          const s = performance.now();
          const r = await api.request({ path: `/scrape?key=${keys.live}&url=${encodeURIComponent(siteUrl)}&format=text`, method: 'GET' });
          await r.body.dump();
          if (r.statusCode !== 200) throw new Error(`sync scrape answered ${r.statusCode}`);
          lat.push(performance.now() - s);
        });
        results.capture_scrape_sync = {
          scrapes: scrapeN,
          per_second: Math.round((scrapeN / ((performance.now() - t1) / 1000)) * 10) / 10,
          latency_ms: summary(lat),
        };
        console.log('capture: synchronous scrapes', results.capture_scrape_sync);

        const shots = Number(process.env.BENCH_SCREENSHOTS ?? 30);
        const shotLat: number[] = [];
        let chromiumPeak = 0;
        const chromeSampler = setInterval(() => (chromiumPeak = Math.max(chromiumPeak, childRss('chrom'))), 250);
        await api.request({ path: `/screenshot?key=${keys.live}&url=${encodeURIComponent(siteUrl)}&resolution=1280x720`, method: 'GET' }).then((r) => r.body.dump()); // browser launch, not timed
        const t2 = performance.now();
        await pool(shots, config.browserConcurrency, async () => {
          const s = performance.now();
          const r = await api.request({ path: `/screenshot?key=${keys.live}&url=${encodeURIComponent(siteUrl)}&resolution=1280x720`, method: 'GET' });
          await r.body.dump();
          if (r.statusCode !== 200) throw new Error(`screenshot answered ${r.statusCode}`);
          shotLat.push(performance.now() - s);
        });
        clearInterval(chromeSampler);
        results.capture_screenshots = {
          screenshots: shots,
          browser_concurrency: config.browserConcurrency,
          per_minute: Math.round((shots / ((performance.now() - t2) / 60_000)) * 10) / 10,
          latency_ms: summary(shotLat),
          chromium_peak_rss_mb: Math.round(chromiumPeak / 1024 / 1024),
        };
        console.log('capture: screenshots', results.capture_screenshots);
      }

      // Crawl: a loopback site of about BENCH_CRAWL_PAGES pages, crawled whole
      // (CRAWL_PAGE_CONCURRENCY pages at a time, the project's slots); pages
      // per second, and the largest history any run of the crawl had (it
      // continues as new every CRAWL_PAGES_PER_RUN pages).
      {
        const site = await startCrawlSite({ pages: Math.max(7, CRAWL_PAGES - 50), slowMs: 50 });
        const t3 = performance.now();
        const started = await api.request({
          path: `/v2/crawl?key=${keys.live}`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: site.url, limit: CRAWL_PAGES * 2 }),
        });
        const { id } = (await started.body.json()) as { id: string };
        let status: { status: string; total: number; completed: number } = { status: 'scraping', total: 0, completed: 0 };
        while (status.status === 'scraping') {
          await new Promise((r) => setTimeout(r, 250));
          const r = await api.request({ path: `/v2/crawl/${id}?key=${keys.live}&limit=1`, method: 'GET' });
          status = (await r.body.json()) as typeof status;
        }
        const seconds = (performance.now() - t3) / 1000;
        const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
        let runs = 0;
        let largest = 0;
        for await (const w of client.workflow.list({ query: `WorkflowId = "crawl:${id}"` })) {
          runs++;
          largest = Math.max(largest, w.historyLength ?? 0);
        }
        await client.connection.close();
        results.crawl = {
          pages: status.completed,
          status: status.status,
          seconds: Math.round(seconds * 10) / 10,
          pages_per_second: Math.round((status.completed / seconds) * 10) / 10,
          page_concurrency: config.crawl.pageConcurrency,
          workflow_runs: runs,
          largest_history_events: largest,
        };
        console.log('crawl', results.crawl);
        await site.close();
      }

      // The dashboard: a webhook's delivery history with 10,000 attempts.
      results.dashboard_history = await measureHistoryPage({ apiUrl: hs.apiUrl!, dbUrl, key: keys.live });
      console.log('dashboard history page', results.dashboard_history);

      clearInterval(sampler);
      results.process_peak_rss_mb = Math.round(peakRss / 1024 / 1024);
      await api.close();
      await hs.stop();

    }

    const b = results.b_temporal_empty as { per_second: number };
    const c = results.c_hookshot_peak as { per_second: number };
    const cOff = results.c_hookshot_peak_without_slots as { per_second: number };
    const cOn = results.c_hookshot_peak_with_slots as { per_second: number };
    results.ratio_c_to_b = Math.round((c.per_second / b.per_second) * 100) / 100;
    results.ratio_c_with_slots_to_b = Math.round((cOn.per_second / b.per_second) * 100) / 100;
    results.ratio_c_without_slots_to_b = Math.round((cOff.per_second / b.per_second) * 100) / 100;
    // Wall time per job that the slots add, from the alternating closed loops of the same run.
    results.capture_slots_cost_ms_per_job = Math.round((1000 / cOn.per_second - 1000 / cOff.per_second) * 10) / 10;
    console.log('ratio (c)/(b) with capture slots:', results.ratio_c_with_slots_to_b, ' without:', results.ratio_c_without_slots_to_b, ' slots cost per job (ms):', results.capture_slots_cost_ms_per_job);
    console.log('ratio (c)/(b):', results.ratio_c_to_b, ' process peak RSS MB:', results.process_peak_rss_mb);
    const dir = path.join(repoRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.log(`written ${file}`);
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    site.closeAllConnections();
    site.close();
    await dev.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
