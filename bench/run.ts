// npm run bench: throughput, latency and memory measured in one run on
// loopback, so the figures compare as ratios. For each Temporal topology
// (BENCH_TOPOLOGIES: the dev server as `npm start` runs it, the same with
// SQLite's WAL pragmas, the full server on PostgreSQL) it measures the
// engine's ceiling (b) and Hookshot jobs (c); on the fastest it then
// measures a second worker process, a sustained run at half the peak
// (BENCH_SOAK_SECONDS, default 600), capture, a crawl and the dashboard.
// Writes bench/results/<time>.json, .md (the report) and .svg (its chart).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startHookshot } from '../src/runtime';
import { resolveTemporalCli } from '../src/temporalServer/devServer';
import { repoRoot } from '../src/repoRoot';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { bootstrapDefaultProject } from '../src/db/repositories/projects';
import { acquireCaptureSlot, releaseCaptureSlot } from '../src/db/repositories/captureSlots';
import { startCrawlSite } from '../test/helpers/crawlSite';
import { freePortRange } from '../test/helpers/net';
import { measureHistoryPage } from './history';
import { measureArtifacts } from './artifacts';
import { devTopology, jobDriver, measureEmptyWorkflows, openLoop, pct, pool, r1, startHookshotProcess, summary, type Topology } from './engine';
import { postgresTopology } from './postgresTopology';
import { chartSvg, table, type Window } from './report';
import { CRAWLER_EVENTS } from '../src/shared/names';

const N = Number(process.env.BENCH_JOBS ?? 300);
const CRAWL_PAGES = Number(process.env.BENCH_CRAWL_PAGES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const WINDOW_SECONDS = 10;
const TOPOLOGIES = (process.env.BENCH_TOPOLOGIES ?? 'dev,dev-wal,dev-wal-full,postgres')
  .split(',')
  .map((t) => t.trim())
  .filter(Boolean);
const ADMIN_DB = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const WAL = ['journal_mode=WAL', 'synchronous=NORMAL'];

/** Resident memory of this process's descendants whose command line matches. */
function childRss(match: string): number {
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

const mb = (b: number) => Math.round(b / 1024 / 1024);

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cliPath = await resolveTemporalCli(process.env.TEMPORAL_CLI);
  const net = await import('node:net');
  const freePort = () =>
    new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
  // Temporal needs a run of ports from its base (the PostgreSQL topology
  // up to +8), below 32768 (it stores them as smallint).
  const basePort = () => freePortRange(10);
  const admin = new pg.Client({ connectionString: ADMIN_DB });
  await admin.connect();
  const dbs: string[] = [];
  const freshDb = async () => {
    const name = `hookshot_bench_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    dbs.push(name);
    const url = Object.assign(new URL(ADMIN_DB), { pathname: `/${name}` }).toString();
    const setup = createPool(url, 2);
    await migrate(setup);
    const keys = (await bootstrapDefaultProject(setup))!;
    await setup.end();
    return { url, key: keys.live };
  };
  const startTopology = async (name: string): Promise<Topology> => {
    const port = await basePort();
    if (name === 'dev') return devTopology('dev', cliPath, port, []);
    if (name === 'dev-wal') return devTopology('dev-wal', cliPath, port, WAL);
    // WAL with every commit synced: what durability through a power cut costs.
    if (name === 'dev-wal-full') return devTopology('dev-wal-full', cliPath, port, ['journal_mode=WAL', 'synchronous=FULL']);
    if (name === 'postgres') return postgresTopology(port, ADMIN_DB);
    throw new Error(`unknown topology ${name} (BENCH_TOPOLOGIES: dev, dev-wal, dev-wal-full, postgres)`);
  };

  // The receiver: every bench posts here; receipt times are keyed by job id.
  const receipts = new Map<string, number>();
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['x-scrapfly-webhook-job-id'];
      if (typeof id === 'string' && !receipts.has(id)) receipts.set(id, performance.now());
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const site = http.createServer((_q, s) => s.end('<html><body>tiny</body></html>'));
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  const logDir = path.join(repoRoot(), 'bench', 'results', 'logs');

  const hookshotEnv = (o: { dbUrl: string; address: string; taskQueue: string; port: number }) => ({
    PORT: String(o.port),
    HOST: '127.0.0.1',
    DATABASE_URL: o.dbUrl,
    TEMPORAL_ADDRESS: o.address,
    TEMPORAL_TASK_QUEUE: o.taskQueue,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
    LOG_LEVEL: 'info',
  });
  const createBenchWebhook = async (apiUrl: string, key: string) => {
    const r = await fetch(`${apiUrl}/webhooks?key=${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', url: `${receiverUrl}/hook` }),
    });
    if (r.status >= 300 && r.status !== 409) throw new Error(`webhook: ${r.status} ${await r.text()}`);
  };

  const results: Record<string, any> = {
    at: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    params: { jobs: N, concurrency: CONCURRENCY, soak_seconds: SOAK_SECONDS, topologies: TOPOLOGIES },
    topologies: {} as Record<string, unknown>,
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
      results.a_raw_http = { requests: n, per_second: Math.round(n / ((performance.now() - t0) / 1000)) };
      await http1.close();
      console.log('(a) raw HTTP', results.a_raw_http);
    }

    // (b) and (c) on each topology, one after another on the same machine.
    for (const name of TOPOLOGIES) {
      const t0 = performance.now();
      const topo = await startTopology(name);
      const startSeconds = r1((performance.now() - t0) / 1000);
      try {
        const b = await measureEmptyWorkflows(topo.address, N, CONCURRENCY);
        console.log(`[${name}] (b) empty workflow`, b);
        const db = await freshDb();
        const port = await freePort();
        const hs = await startHookshotProcess(
          hookshotEnv({ dbUrl: db.url, address: topo.address, taskQueue: `bench-${name}-${randomBytes(3).toString('hex')}`, port }),
          path.join(logDir, `hookshot-${name}.log`),
        );
        try {
          await createBenchWebhook(hs.url, db.key);
          const driver = jobDriver(hs.url, db.key, siteUrl, receipts, CONCURRENCY);
          await driver.closedLoop(Math.min(50, N)); // warm-up
          const runs = [await driver.closedLoop(N), await driver.closedLoop(N)];
          await driver.close();
          const c = {
            jobs: N,
            runs_per_second: runs.map((r) => r.per_second),
            per_second: r1((runs[0]!.per_second + runs[1]!.per_second) / 2),
            latency_ms: runs[1]!.latency_ms,
          };
          console.log(`[${name}] (c) hookshot jobs`, c);
          results.topologies[name] = {
            describe: topo.describe,
            start_seconds: startSeconds,
            b_temporal_empty: b,
            c_hookshot_peak: c,
            ratio_c_to_b: Math.round((c.per_second / b.per_second) * 100) / 100,
          };
        } finally {
          await hs.stop();
        }
      } finally {
        await topo.stop();
      }
    }

    const measured = Object.entries(results.topologies as Record<string, { c_hookshot_peak: { per_second: number } }>);
    const [bestName] = measured.reduce((a, x) => (x[1].c_hookshot_peak.per_second > a[1].c_hookshot_peak.per_second ? x : a));
    results.best_topology = bestName;
    const peak = results.topologies[bestName].c_hookshot_peak.per_second as number;
    console.log(`fastest topology for Hookshot jobs: ${bestName} (${peak}/s)`);

    if (process.env.BENCH_TOPOLOGIES_ONLY) {
      // A quick comparison of topologies alone: no report, the JSON only.
      const file = path.join(repoRoot(), 'bench', 'results', `topologies-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(results, null, 2));
      console.log(`written ${file}`);
      return;
    }
    const best = await startTopology(bestName);
    try {
      // A second worker process on the same queue: what it adds, alternating 1, 2, 1, 2 workers.
      {
        const db = await freshDb();
        const taskQueue = `bench-workers-${randomBytes(3).toString('hex')}`;
        const hs = await startHookshotProcess(
          hookshotEnv({ dbUrl: db.url, address: best.address, taskQueue, port: await freePort() }),
          path.join(logDir, 'hookshot-workers.log'),
        );
        try {
          await createBenchWebhook(hs.url, db.key);
          const driver = jobDriver(hs.url, db.key, siteUrl, receipts, CONCURRENCY);
          await driver.closedLoop(Math.min(50, N));
          const one: number[] = [];
          const two: number[] = [];
          for (let round = 0; round < 2; round++) {
            one.push((await driver.closedLoop(N)).per_second);
            const extra = await startHookshotProcess(
              { ...hookshotEnv({ dbUrl: db.url, address: best.address, taskQueue, port: await freePort() }), ROLE: 'worker' },
              path.join(logDir, `hookshot-worker2-${round}.log`),
            );
            try {
              two.push((await driver.closedLoop(N)).per_second);
            } finally {
              await extra.stop();
            }
          }
          await driver.close();
          const avg = (xs: number[]) => r1(xs.reduce((a, b) => a + b, 0) / xs.length);
          results.second_worker = {
            topology: bestName,
            one_worker_runs: one,
            two_worker_runs: two,
            one_worker: avg(one),
            two_workers: avg(two),
            gain: Math.round((avg(two) / avg(one)) * 100) / 100,
          };
          console.log('second worker process', results.second_worker);
        } finally {
          await hs.stop();
        }
      }

      // Sustained: half the peak for SOAK_SECONDS; throughput, p99 and memory per window.
      {
        const db = await freshDb();
        const hs = await startHookshotProcess(
          hookshotEnv({ dbUrl: db.url, address: best.address, taskQueue: `bench-soak-${randomBytes(3).toString('hex')}`, port: await freePort() }),
          path.join(logDir, 'hookshot-soak.log'),
        );
        try {
          await createBenchWebhook(hs.url, db.key);
          const driver = jobDriver(hs.url, db.key, siteUrl, receipts, CONCURRENCY);
          await driver.closedLoop(Math.min(50, N));
          driver.submitted.clear();
          const rate = Math.max(1, peak / 2);
          const windows: Window[] = [];
          const t0 = performance.now();
          let from = t0;
          const sampler = setInterval(() => {
            const to = performance.now();
            const inWindow = [...driver.submitted].filter(([id]) => {
              const r = receipts.get(id);
              return r !== undefined && r >= from && r < to;
            });
            const lat = inWindow.map(([id, s]) => receipts.get(id)! - s);
            windows.push({
              t: Math.round((to - t0) / 1000),
              per_second: r1(inWindow.length / ((to - from) / 1000)),
              p99_ms: pct(lat, 99),
              rss_mb: mb(hs.rss()),
            });
            from = to;
          }, WINDOW_SECONDS * 1000);
          await openLoop(rate, SOAK_SECONDS, driver.submit);
          await driver.waitAll();
          clearInterval(sampler);
          const lat = driver.latencies();
          const rssSteady = windows.slice(1).map((w) => w.rss_mb);
          results.soak = {
            topology: bestName,
            rate_per_second: r1(rate),
            seconds: SOAK_SECONDS,
            submitted: driver.submitted.size,
            delivered: lat.length,
            latency_ms: summary(lat),
            rss_mb: {
              first_window: windows[0]?.rss_mb ?? null,
              after_first_window: rssSteady[0] ?? null,
              last_window: windows.at(-1)?.rss_mb ?? null,
              max: Math.max(...windows.map((w) => w.rss_mb)),
            },
            windows,
          };
          results.c_hookshot_half_rate = { rate_per_second: r1(rate), delivered: lat.length, latency_ms: summary(lat) };
          console.log('sustained run at half the peak', { ...results.soak, windows: windows.length });
          await driver.close();
        } finally {
          await hs.stop();
        }
      }

      // Capture, crawl and the dashboard, in-process on the fastest topology.
      {
        const db = await freshDb();
        const dbUrl = db.url;
        const keys = { live: db.key };
        const env = {
          ...hookshotEnv({ dbUrl, address: best.address, taskQueue: `bench-jobs-${randomBytes(3).toString('hex')}`, port: 0 }),
          LOG_LEVEL: 'warn',
          BROWSER_CONCURRENCY: process.env.BROWSER_CONCURRENCY ?? '2',
        };
        const config = loadConfig(env);
        const hs = await startHookshot(config, createLogger('warn'));
        let peakRss = process.memoryUsage().rss;
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
        const api = new Pool(hs.apiUrl!, { connections: CONCURRENCY });
        const dev = best;
        {
          // The slots' own database cost: one acquire and one release, one after another.
          const sdb = createPool(dbUrl, 1);
          const { rows } = await sdb.query<{ id: string }>("SELECT id FROM projects WHERE name = 'default'");
          const req = { projectId: rows[0]!.id, limit: 100, ttlMs: 60_000, grantTtlMs: 60_000 };
          const pairs = 500;
          const t4 = performance.now();
          for (let i = 0; i < pairs; i++) {
            await acquireCaptureSlot(sdb, { ...req, holder: `bench-${i}`, wait: true });
            await releaseCaptureSlot(sdb, { ...req, holder: `bench-${i}` });
          }
          results.capture_slot_pair_ms = Math.round(((performance.now() - t4) / pairs) * 100) / 100;
          console.log('capture slots: one acquire + release', results.capture_slot_pair_ms, 'ms');
          await sdb.end();
        }
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
          await api
            .request({ path: `/screenshot?key=${keys.live}&url=${encodeURIComponent(siteUrl)}&resolution=1280x720`, method: 'GET' })
            .then((r) => r.body.dump()); // browser launch, not timed
          const t2 = performance.now();
          await pool(shots, config.browserConcurrency, async () => {
            const s = performance.now();
            const r = await api.request({
              path: `/screenshot?key=${keys.live}&url=${encodeURIComponent(siteUrl)}&resolution=1280x720`,
              method: 'GET',
            });
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

          // The same site through Scrapfly's Crawler API, every event (the four
          // crawler_url_* included) delivered to a named webhook on loopback:
          // pages per second beside the Firecrawl crawl's, when the last event
          // arrived, the largest history, and the artifacts' size and build time.
          const events = new Map<string, number>();
          let lastEventAt = 0;
          const hook = http.createServer((req, res) => {
            req.resume();
            req.on('end', () => {
              const name = String(req.headers['x-scrapfly-crawl-event-name'] ?? 'none');
              events.set(name, (events.get(name) ?? 0) + 1);
              lastEventAt = performance.now();
              res.end('ok');
            });
          });
          await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
          const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/crawler`;
          await fetch(`${hs.apiUrl}/webhooks?key=${keys.live}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'bench-crawler', url: hookUrl }),
          });
          const t5 = performance.now();
          const startedCrawler = await api.request({
            path: `/crawl?key=${keys.live}`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              url: site.url,
              page_limit: CRAWL_PAGES * 2,
              content_formats: ['markdown'],
              webhook_name: 'bench-crawler',
              webhook_events: [...CRAWLER_EVENTS],
            }),
          });
          const started2 = (await startedCrawler.body.json()) as { crawler_uuid?: string };
          const uuid = started2.crawler_uuid;
          if (!uuid) throw new Error(`crawler start answered ${startedCrawler.statusCode}: ${JSON.stringify(started2)}`);
          type CrawlerStatusBody = { is_finished: boolean; status: string; state: { urls_visited: number; urls_failed: number } };
          let cs: CrawlerStatusBody = { is_finished: false, status: 'PENDING', state: { urls_visited: 0, urls_failed: 0 } };
          while (!cs.is_finished) {
            await new Promise((r) => setTimeout(r, 250));
            const r = await api.request({ path: `/crawl/${uuid}/status?key=${keys.live}`, method: 'GET' });
            cs = (await r.body.json()) as CrawlerStatusBody;
          }
          const crawlerSeconds = (performance.now() - t5) / 1000;
          const crawlerPages = cs.state.urls_visited + cs.state.urls_failed;
          // Every stored event has reached the receiver once (first attempts; none fails here).
          const sdb = createPool(dbUrl, 1);
          const stored = async () =>
            (await sdb.query<{ n: number }>('SELECT count(*)::int AS n FROM crawl_events WHERE crawl_id = $1', [uuid])).rows[0]?.n ?? 0;
          const received = () => [...events.values()].reduce((a, b) => a + b, 0);
          const waitUntil = performance.now() + 300_000;
          while (received() < (await stored()) && performance.now() < waitUntil) await new Promise((r) => setTimeout(r, 250));
          const eventsStored = await stored();
          await sdb.end();
          const client2 = new Client({ connection: await Connection.connect({ address: dev.address }) });
          let runs2 = 0;
          let largest2 = 0;
          for await (const w of client2.workflow.list({ query: `WorkflowId STARTS_WITH "crawl:${uuid}"` })) {
            runs2++;
            largest2 = Math.max(largest2, w.historyLength ?? 0);
          }
          await client2.connection.close();
          const artifact = async (type: 'warc' | 'har') => {
            const t = performance.now();
            const r = await api.request({ path: `/crawl/${uuid}/artifact?key=${keys.live}&type=${type}`, method: 'GET' });
            let bytes = 0;
            for await (const chunk of r.body) bytes += (chunk as Buffer).length;
            return { status: r.statusCode, bytes, mb: r1(bytes / 1024 / 1024), build_ms: Math.round(performance.now() - t) };
          };
          results.crawler = {
            pages: crawlerPages,
            status: cs.status,
            seconds: Math.round(crawlerSeconds * 10) / 10,
            pages_per_second: Math.round((crawlerPages / crawlerSeconds) * 10) / 10,
            // Against the Firecrawl crawl of the same site in this run (1.0 = as fast).
            ratio_to_firecrawl: Math.round((crawlerPages / crawlerSeconds / (status.completed / seconds)) * 100) / 100,
            events_stored: eventsStored,
            events_received: Object.fromEntries(events),
            last_event_after_end_s: Math.round(((lastEventAt - t5) / 1000 - crawlerSeconds) * 10) / 10,
            workflow_runs: runs2,
            largest_history_events: largest2,
            warc: await artifact('warc'),
            har: await artifact('har'),
          };
          console.log('crawler (Scrapfly API, every event)', results.crawler);
          hook.close();
          await site.close();
        }

        // The dashboard: a webhook's delivery history with 10,000 attempts.
        results.dashboard_history = await measureHistoryPage({ apiUrl: hs.apiUrl!, dbUrl, key: keys.live });
        console.log('dashboard history page', results.dashboard_history);

        // A crawler's WARC and HAR from 2,000 stored captures (BENCH_ARTIFACT_PAGES) of 20 KB.
        results.crawler_artifacts = await measureArtifacts({ dbUrl });
        console.log('crawler artifacts', results.crawler_artifacts);

        clearInterval(sampler);
        results.process_peak_rss_mb = Math.round(peakRss / 1024 / 1024);
        await api.close();
        await hs.stop();
      }
    } finally {
      await best.stop();
    }

    const bestT = results.topologies[bestName];
    results.b_temporal_empty = bestT.b_temporal_empty;
    results.c_hookshot_peak = bestT.c_hookshot_peak;
    results.ratio_c_to_b = bestT.ratio_c_to_b;
    console.log('ratio (c)/(b) on', bestName, results.ratio_c_to_b, ' process peak RSS MB:', results.process_peak_rss_mb);
    const dir = path.join(repoRoot(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    writeFileSync(path.join(dir, `${stamp}.json`), JSON.stringify(results, null, 2));
    const svg = chartSvg(results.soak.windows, `Sustained run on ${bestName}: ${results.soak.rate_per_second} jobs/s offered for ${SOAK_SECONDS} s`);
    writeFileSync(path.join(dir, `${stamp}.svg`), svg);
    writeFileSync(path.join(dir, `${stamp}.md`), markdown(results, `${stamp}.svg`));
    // The latest report under a fixed name, for the README to link.
    copyFileSync(path.join(dir, `${stamp}.svg`), path.join(dir, 'latest.svg'));
    writeFileSync(path.join(dir, 'latest.md'), markdown(results, 'latest.svg'));
    console.log(`written ${path.join(dir, stamp)}.{json,md,svg} and latest.{md,svg}`);
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    site.closeAllConnections();
    site.close();
    for (const name of dbs) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

function markdown(r: Record<string, any>, svgFile: string): string {
  const topo = Object.entries(r.topologies as Record<string, any>);
  const lines = [
    `# Hookshot bench, ${r.at}`,
    '',
    `${r.machine.cpus} cores, Node ${r.machine.node}; ${r.params.jobs} jobs per closed loop at concurrency ${r.params.concurrency}. Every figure below comes from this one run: compare them as ratios. Produced by \`npm run bench\`; the raw figures are in the JSON beside this file.`,
    '',
    '## Temporal topologies',
    '',
    '(b) is the engine\'s ceiling: a workflow with one no-op activity, started and awaited by a client, closed loop; "bare" is a workflow with no activity (one workflow task), the shape of published workflows-per-second figures. (c) is Hookshot: a scrape job of a tiny loopback page submitted over the API, its result stored in PostgreSQL and delivered to a loopback webhook; from the first submission to the last receipt. Two runs each, averaged.',
    '',
    table(
      ['topology', 'start (s)', 'bare wf/s', '(b) wf/s', '(b) p99 ms', '(c) jobs/s', '(c) runs', '(c) p99 ms', '(c)/(b)'],
      topo.map(([name, t]) => [
        `${name}: ${t.describe}`,
        t.start_seconds,
        t.b_temporal_empty.bare.per_second,
        t.b_temporal_empty.per_second,
        t.b_temporal_empty.latency_ms.p99,
        t.c_hookshot_peak.per_second,
        t.c_hookshot_peak.runs_per_second.join(', '),
        t.c_hookshot_peak.latency_ms.p99,
        t.ratio_c_to_b,
      ]),
    ),
    '',
    `Fastest for Hookshot jobs: **${r.best_topology}**. The rest of this report ran on it.`,
    '',
    '## Sustained run at half the peak',
    '',
    `${r.soak.rate_per_second} jobs/s offered (open loop) for ${r.soak.seconds} s: ${r.soak.submitted} submitted, ${r.soak.delivered} delivered. Submit→receipt p50 ${r.soak.latency_ms.p50} ms, p95 ${r.soak.latency_ms.p95} ms, p99 ${r.soak.latency_ms.p99} ms. Hookshot's resident memory (API and worker in one process): ${r.soak.rss_mb.first_window} MB after the first ${WINDOW_SECONDS} s, ${r.soak.rss_mb.last_window} MB at the end, ${r.soak.rss_mb.max} MB at most.`,
    '',
    `![throughput and p99 over the sustained run](${svgFile})`,
    '',
    '## A second worker process',
    '',
    `On ${r.second_worker.topology}, closed loops alternating one worker (the API process's) and two (plus a \`ROLE=worker\` process on the same queue): ${r.second_worker.one_worker} jobs/s with one (${r.second_worker.one_worker_runs.join(', ')}), ${r.second_worker.two_workers} with two (${r.second_worker.two_worker_runs.join(', ')}): ×${r.second_worker.gain}.`,
    '',
    '## Other figures',
    '',
    table(
      ['measure', 'value'],
      [
        ['(a) raw HTTP POSTs to the receiver, per second', r.a_raw_http.per_second],
        ['capture slots: one acquire + release (ms)', r.capture_slot_pair_ms],
        ['synchronous scrapes per second (p99 ms)', `${r.capture_scrape_sync?.per_second} (${r.capture_scrape_sync?.latency_ms.p99})`],
        ['screenshots per minute at browser concurrency ' + r.capture_screenshots?.browser_concurrency, r.capture_screenshots?.per_minute],
        ['Chromium peak RSS (MB)', r.capture_screenshots?.chromium_peak_rss_mb],
        [
          'crawl: pages per second (pages, runs, largest history)',
          `${r.crawl?.pages_per_second} (${r.crawl?.pages}, ${r.crawl?.workflow_runs}, ${r.crawl?.largest_history_events} events)`,
        ],
        [
          'Scrapfly crawler, every event: pages per second (ratio to the Firecrawl crawl; events; largest history)',
          `${r.crawler?.pages_per_second} (×${r.crawler?.ratio_to_firecrawl}; ${r.crawler?.events_stored}; ${r.crawler?.largest_history_events} events)`,
        ],
        [
          'Scrapfly crawler artifacts: WARC MB in ms / HAR MB in ms',
          `${r.crawler?.warc?.mb} in ${r.crawler?.warc?.build_ms} / ${r.crawler?.har?.mb} in ${r.crawler?.har?.build_ms}`,
        ],
        [
          `crawler artifacts of ${r.crawler_artifacts?.pages} captures (${r.crawler_artifacts?.stored_body_mb} MB): WARC / HAR seconds (MB, retained growth MB)`,
          `${r.crawler_artifacts?.warc.seconds} (${Math.round(r.crawler_artifacts?.warc.bytes / 1048576)}, ${r.crawler_artifacts?.warc.retained_buffers_growth_mb}) / ${r.crawler_artifacts?.har.seconds} (${Math.round(r.crawler_artifacts?.har.bytes / 1048576)}, ${r.crawler_artifacts?.har.retained_buffers_growth_mb})`,
        ],
        [
          'dashboard history page, 10,000 attempts: first page p95 / deep page p95 (ms)',
          `${r.dashboard_history?.first_page?.p95_ms ?? '–'} / ${r.dashboard_history?.deep_page?.p95_ms ?? '–'}`,
        ],
      ],
    ),
    '',
  ];
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
