// The pieces of the engine benchmark: Temporal topologies to measure on,
// the empty-workflow ceiling (b), Hookshot as real processes, and the
// closed and open loops that drive it (c).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer } from '../src/temporalServer/devServer';
import { repoRoot } from '../src/repoRoot';

export const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};
export const summary = (lat: number[]) => ({ p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), n: lat.length });
export const r1 = (x: number) => Math.round(x * 10) / 10;

/** Runs fn(i) for i < n with at most `limit` in flight. */
export async function pool(n: number, limit: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      for (let i = next++; i < n; i = next++) await fn(i);
    }),
  );
}

/** Open loop: starts fn at `rate` per second for `seconds`, whatever the backlog. */
export async function openLoop(rate: number, seconds: number, fn: () => Promise<void>) {
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

export interface Topology {
  name: string;
  describe: string;
  address: string;
  stop(): Promise<void>;
}

/** The dev server on a SQLite file, as `npm start` runs it; `pragmas` adds --sqlite-pragma flags. */
export async function devTopology(name: string, cliPath: string, port: number, pragmas: string[]): Promise<Topology> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `hookshot-bench-${name}-`));
  const dev = await startDevServer({
    cliPath,
    port,
    uiPort: port + 1,
    namespace: 'default',
    headless: true,
    dbFile: path.join(dir, 'temporal.db'),
    extraArgs: pragmas.flatMap((p) => ['--sqlite-pragma', p]),
  });
  return {
    name,
    describe: `dev server (SQLite file${pragmas.length ? `, ${pragmas.join(', ')}` : ', default pragmas'})`,
    address: dev.address,
    async stop() {
      await dev.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** (b) The engine's ceiling: workflows with one no-op activity, closed loop. */
export async function measureEmptyWorkflows(address: string, n: number, concurrency: number) {
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(repoRoot(), 'dist', 'bench', 'workflows.js'), logger: quietLogger });
  const conn = await NativeConnection.connect({ address });
  const taskQueue = `bench-empty-${randomBytes(3).toString('hex')}`;
  const worker = await Worker.create({ connection: conn, taskQueue, workflowBundle: { code }, activities: { noop: async () => undefined } });
  const client = new Client({ connection: await Connection.connect({ address }) });
  /** n workflows of a type, closed loop: per second and latency. */
  const closedLoop = async (type: 'emptyWorkflow' | 'bareWorkflow') => {
    const lat: number[] = [];
    const t0 = performance.now();
    await pool(n, concurrency, async (i) => {
      const s = performance.now();
      await client.workflow.execute(type, { taskQueue, workflowId: `${type}-${taskQueue}-${i}` });
      lat.push(performance.now() - s);
    });
    return { per_second: r1(n / ((performance.now() - t0) / 1000)), latency_ms: summary(lat) };
  };
  try {
    return await worker.runUntil(async () => {
      // Warm-up: the first workflows pay for caches and connections.
      await pool(Math.min(50, n), concurrency, async (i) => {
        await client.workflow.execute('emptyWorkflow', { taskQueue, workflowId: `warm-${taskQueue}-${i}` });
      });
      const empty = await closedLoop('emptyWorkflow');
      const bare = await closedLoop('bareWorkflow');
      return { workflows: n, ...empty, bare };
    });
  } finally {
    await client.connection.close();
    await conn.close();
  }
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export interface HookshotProcess {
  url: string;
  pid: number;
  /** Resident memory now, in bytes (0 once it has exited). */
  rss(): number;
  stop(): Promise<void>;
}

/**
 * Hookshot as `npm start` runs it (node dist/src/main.js), so its memory is
 * its own. ROLE=worker has no API: `url` is then empty and readiness is the
 * log line that says the worker runs.
 */
export async function startHookshotProcess(env: Record<string, string>, logFile: string): Promise<HookshotProcess> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'main.js')], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(logFile);
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    let buf = '';
    const want = env.ROLE === 'worker' ? '"worker running"' : '"API listening"';
    child.stdout!.on('data', (b: Buffer) => {
      buf = (buf + b.toString()).slice(-20_000);
      if (buf.includes(want)) resolve();
    });
    void exited.then(() => reject(new Error(`hookshot exited before it was ready; see ${logFile}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await ready.finally(() => clearTimeout(timer));
  return {
    url: env.ROLE === 'worker' ? '' : `http://127.0.0.1:${env.PORT}`,
    pid: child.pid!,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Submits scrape jobs with a webhook; receipts (by job id) come from the shared receiver. */
export function jobDriver(apiUrl: string, key: string, siteUrl: string, receipts: Map<string, number>, concurrency: number) {
  const api = new Pool(apiUrl, { connections: concurrency });
  const submitted = new Map<string, number>();
  const submit = async () => {
    const s = performance.now();
    const r = await api.request({ path: `/scrape?key=${key}&webhook_name=bench&url=${encodeURIComponent(siteUrl)}`, method: 'GET' });
    const b = (await r.body.json()) as { job_uuid?: string };
    if (!b.job_uuid) throw new Error(`submission failed: ${JSON.stringify(b)}`);
    submitted.set(b.job_uuid, s);
  };
  const waitAll = async (maxMs = 120_000) => {
    const end = performance.now() + maxMs;
    while (performance.now() < end && [...submitted.keys()].some((id) => !receipts.has(id))) await new Promise((r) => setTimeout(r, 25));
  };
  const latencies = () => [...submitted].filter(([id]) => receipts.has(id)).map(([id, s]) => receipts.get(id)! - s);
  return {
    api,
    submitted,
    submit,
    waitAll,
    latencies,
    /** Closed loop of n jobs; throughput from the first submission to the last receipt. */
    async closedLoop(n: number) {
      submitted.clear();
      const t0 = performance.now();
      await pool(n, concurrency, submit);
      await waitAll();
      const delivered = latencies().length;
      const lastReceipt = Math.max(...[...submitted.keys()].map((id) => receipts.get(id) ?? 0));
      return { jobs: n, delivered, per_second: r1(delivered / ((lastReceipt - t0) / 1000)), latency_ms: summary(latencies()) };
    },
    close: () => api.close(),
  };
}
