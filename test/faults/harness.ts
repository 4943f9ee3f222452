// The fault suite's harness: Hookshot as production runs it, in real child
// processes (`node dist/src/main.js`, one API process and worker processes),
// so a fault can be what it is in production: a SIGKILL, a server gone. Each
// test file starts its own Temporal server (the Temporal fault kills it).
// Every child's output goes to a log file under test/artifacts/faults/, and
// the tails are printed when a test fails.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../src/repoRoot';
import { freshDatabase, type TestDatabase } from '../helpers/env';
import { ADMIN_TOKEN, apiFetcher, captureDefaultKeys, type ApiCall } from '../helpers/hookshot';
import { freePort } from '../helpers/net';
import { until } from '../helpers/wait';
import { ARTIFACTS, startTemporal, type TemporalServer } from './temporal';

export { ARTIFACTS, startTemporal, type TemporalServer };

const MAIN = path.join(repoRoot(), 'dist', 'src', 'main.js');

/** A size of a fault test: FAULTS_<NAME> in the environment (bigger runs), else its default. */
export function sized(name: string, dflt: number): number {
  const raw = process.env[`FAULTS_${name}`];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`FAULTS_${name}=${raw}: must be a positive number`);
  return n;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- processes

/** One child process with its log file. */
export interface Proc {
  name: string;
  pid: number;
  logFile: string;
  alive(): boolean;
  /** Gone without kill() or stop(): a crash. */
  crashed(): boolean;
  /** Resolves when the process has exited, with how. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (Hookshot drains its workers), SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
  /** Resolves when a line of its output matches. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** The last lines of its output. */
  tail(lines?: number): string;
}

const children = new Set<ChildProcess>();
// A test process that ends any other way (a timeout, an uncaught error) must not leave Hookshot running.
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export function spawnLogged(name: string, cmd: string, args: string[], env: Record<string, string>, logFile: string): Proc {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (!child.pid) throw new Error(`${name}: could not start ${cmd}`);
  children.add(child);
  let recent: string[] = [];
  let partial = '';
  const watchers: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  const onData = (b: Buffer) => {
    log.write(b);
    const text = partial + b.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      recent.push(line);
      for (const w of watchers.filter((w) => w.re.test(line))) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
    if (recent.length > 2000) recent = recent.slice(-500);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      // The streams may still hold the last lines: let them drain into the log first.
      setImmediate(() => {
        log.end(`\n# ${name} exited (code ${code}, signal ${signal})\n`);
        resolve({ code, signal });
      });
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  let ended = false;
  return {
    name,
    pid: child.pid,
    logFile,
    alive,
    crashed: () => !alive() && !ended,
    exited,
    async kill() {
      ended = true;
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 15_000) {
      ended = true;
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    waitForLine(re, timeoutMs = 60_000) {
      const seen = recent.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          watchers.splice(watchers.indexOf(w), 1);
          reject(new Error(`${name}: no output line matching ${re} within ${timeoutMs} ms`));
        }, timeoutMs);
        watchers.push(w);
        // A process that dies before the line comes fails the wait at once.
        void exited.then(({ code, signal }) => {
          if (!watchers.includes(w)) return;
          watchers.splice(watchers.indexOf(w), 1);
          clearTimeout(timer);
          reject(new Error(`${name} exited (code ${code}, signal ${signal}) before printing ${re}`));
        });
      });
    },
    tail: (lines = 40) => tailOf(logFile, lines) ?? [...recent, partial].slice(-lines).join('\n'),
  };
}

function tailOf(file: string, lines: number): string | undefined {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- the stack

export interface FaultStackOptions {
  /** Extra environment for every Hookshot process (WEBHOOK_RETRY_SCHEDULE …). */
  env?: Record<string, string>;
  workers?: number;
}

export interface FaultStack {
  /** This test's folder under test/artifacts/faults. */
  dir: string;
  temporal: TemporalServer;
  database: TestDatabase;
  taskQueue: string;
  api: Proc;
  apiUrl: string;
  workers: Proc[];
  keys: { test: string; live: string };
  request: ApiCall;
  /** One more worker process, resolved once it polls. */
  startWorker(): Promise<Proc>;
}

/**
 * A fresh database, its own Temporal server, one API process and `workers`
 * worker processes, all on a unique task queue; runs fn, and tears it all
 * down whatever happens, printing every log tail when fn fails.
 */
export async function withFaultStack(name: string, o: FaultStackOptions, fn: (s: FaultStack) => Promise<void>): Promise<void> {
  const dir = path.join(ARTIFACTS, `${new Date().toISOString().replace(/[:.]/g, '-')}-${name}`);
  mkdirSync(dir, { recursive: true });
  const procs: Proc[] = [];
  const cleanup: Array<() => Promise<void>> = [];
  let temporalLog: string | undefined;
  let passed = false;
  try {
    const temporal = await startTemporal({ dir });
    temporalLog = temporal.logFile;
    cleanup.push(() => temporal.stop());
    const database = await freshDatabase();
    cleanup.push(() => database.drop());
    const keys = await captureDefaultKeys(database);
    const taskQueue = `faults-${randomBytes(6).toString('hex')}`;
    const apiPort = await freePort();
    const env = (role: 'api' | 'worker'): Record<string, string> => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ROLE: role,
      HOST: '127.0.0.1',
      PORT: role === 'api' ? String(apiPort) : '0',
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
      ADMIN_TOKEN,
      SHUTDOWN_GRACE_MS: '2000',
      // Not below info: the harness waits for the "listening" and "running" lines.
      LOG_LEVEL: process.env.FAULTS_LOG_LEVEL === 'debug' ? 'debug' : 'info',
      ...o.env,
    });
    const spawnHookshot = (procName: string, role: 'api' | 'worker') => {
      const p = spawnLogged(procName, process.execPath, [MAIN], env(role), path.join(dir, `${procName}.log`));
      procs.push(p);
      return p;
    };
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const api = spawnHookshot('api', 'api');
    await api.waitForLine(/"msg":"API listening"/);
    const workers: Proc[] = [];
    const startWorker = async () => {
      const w = spawnHookshot(`worker-${workers.length + 1}`, 'worker');
      workers.push(w);
      await w.waitForLine(/"msg":"worker running"/);
      return w;
    };
    for (let i = 0; i < (o.workers ?? 1); i++) await startWorker();
    const stack: FaultStack = {
      dir,
      temporal,
      database,
      taskQueue,
      api,
      apiUrl,
      workers,
      keys,
      request: apiFetcher(apiUrl),
      startWorker,
    };
    await fn(stack);
    // Hookshot must ride out every fault here: a process that died unasked fails the test.
    if (procs.some((p) => p.crashed())) throw new Error('a Hookshot process exited unasked');
    passed = true;
  } catch (err) {
    console.error(`# ${name} failed; logs in ${dir}`);
    for (const p of procs) {
      const state = p.alive() ? 'running' : p.crashed() ? 'EXITED UNASKED' : 'exited';
      console.error(`--- ${p.name} (pid ${p.pid}, ${state}) ${p.logFile}:\n${p.tail(40)}`);
    }
    if (temporalLog) console.error(`--- temporal ${temporalLog}:\n${tailOf(temporalLog, 20)}`);
    // Whatever the test was waiting for when it gave up, a crash is the news.
    const crashed = procs.filter((p) => p.crashed()).map((p) => p.name);
    if (crashed.length)
      throw new Error(`${crashed.join(', ')} exited unasked (see its log above); the test: ${(err as Error).message}`, { cause: err });
    throw err;
  } finally {
    // Workers first (they hold attempts), then the API, then what they talk to.
    for (const p of [...procs].reverse()) await p.stop(5_000).catch(() => undefined);
    for (const c of cleanup.reverse()) await c().catch((e) => console.error(`# ${name}: cleanup: ${(e as Error).message}`));
    // The logs stay; the stores (megabytes each run) only when they may explain a failure.
    if (passed) {
      for (const f of readdirSync(dir)) if (f.startsWith('temporal.db') || f === 'data') rmSync(path.join(dir, f), { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------- helpers for the tests

/** Creates webhook `name` → url in the default project's live environment. */
export async function createWebhook(s: FaultStack, name: string, url: string): Promise<void> {
  const r = await s.request('/webhooks', { method: 'POST', key: s.keys.live, json: { name, url } });
  if (r.status !== 201) throw new Error(`POST /webhooks: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Job rows by status, straight from the database. */
export async function jobStatuses(s: FaultStack): Promise<Map<string, string>> {
  const { rows } = await s.database.pool.query<{ id: string; status: string }>('SELECT id, status FROM jobs');
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** Waits until every one of ids has its row `delivered`; returns the ones that are not, on timeout. */
export async function waitDelivered(s: FaultStack, ids: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await jobStatuses(s).catch(() => null);
    if (statuses) {
      const open = ids.filter((id) => statuses.get(id) !== 'delivered');
      if (open.length === 0 || Date.now() > deadline) return open;
    } else if (Date.now() > deadline) return ids;
    await sleep(250);
  }
}

/** The figures of a fault test, as one block. */
export function report(title: string, figures: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(figures).map((k) => k.length));
  console.log(
    `# ${title}\n${Object.entries(figures)
      .map(([k, v]) => `#   ${k.padEnd(width)}  ${v}`)
      .join('\n')}`,
  );
}

// ---------------------------------------------------------------- the machine's PostgreSQL

export interface MachinePostgres {
  /** "15/main" */
  cluster: string;
  /** Stops the server (fast: every connection is cut, open transactions roll back). */
  stop(): Promise<void>;
  /** Starts it and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Whether it accepts connections now. */
  ready(): Promise<boolean>;
}

/**
 * The cluster serving the test database (the one on the admin URL's port),
 * driven with Debian's pg_ctlcluster as root. Restarting it cuts every
 * connection on this machine, which is why the fault suite runs alone.
 */
export function machinePostgres(adminUrl = process.env.HOOKSHOT_TEST_ADMIN_DB_URL): MachinePostgres {
  if (!adminUrl) throw new Error('HOOKSHOT_TEST_ADMIN_DB_URL is not set: run through test/run.ts');
  const missing = ['pg_ctlcluster', 'pg_lsclusters', 'pg_isready'].filter((c) => spawnSync('which', [c]).status !== 0);
  if (missing.length) {
    throw new Error(
      `${missing.join(', ')} not found: the PostgreSQL restart fault drives the machine's server with Debian's postgresql-common tools (apt-get install postgresql-common)`,
    );
  }
  const u = new URL(adminUrl);
  const port = u.port || '5432';
  const clusters = JSON.parse(execFileSync('pg_lsclusters', ['--json']).toString()) as Array<{
    version: number | string;
    cluster: string;
    config: { port: string };
  }>;
  const found = clusters.find((c) => String(c.config.port) === port);
  if (!found) throw new Error(`no cluster in pg_lsclusters listens on port ${port} (the port of ${adminUrl})`);
  const version = String(found.version);
  const ctl = (action: 'start' | 'stop') =>
    new Promise<void>((resolve, reject) =>
      // Asynchronous: the test's own servers (the scraped site, the receiver) keep answering meanwhile.
      execFile('pg_ctlcluster', ['--skip-systemctl-redirect', version, found.cluster, action], (err, _out, stderr) =>
        err ? reject(new Error(`pg_ctlcluster ${version} ${found.cluster} ${action}: ${err.message} ${stderr}`)) : resolve(),
      ),
    );
  const ready = () => new Promise<boolean>((resolve) => execFile('pg_isready', ['-q', '-h', u.hostname, '-p', port], (err) => resolve(!err)));
  // Left stopped by a test process that died midway, it would take every later test with it.
  let down = false;
  const restoreOnExit = () => {
    if (down) spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, found.cluster, 'start']);
  };
  process.once('exit', restoreOnExit);
  return {
    cluster: `${version}/${found.cluster}`,
    async stop() {
      down = true;
      await ctl('stop');
    },
    async start() {
      // Exit status 2: it was running already.
      await ctl('start').catch(async (err) => {
        if (!(await ready())) throw err;
      });
      await until(async () => ((await ready()) ? true : undefined), 60_000, 100);
      down = false;
    },
    ready,
  };
}
