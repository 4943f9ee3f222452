// The Temporal server of the fault suite, behind one function so the
// topology it runs on is chosen in one place.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startDevServer, type DevServer } from '../../src/temporal/devServer';
import { repoRoot } from '../../src/shared/repoRoot';
import { databaseEnv } from '../helpers/env';
import { freePort } from '../helpers/net';
import { until } from '../helpers/wait';

/** Where the fault suite keeps its logs and stores (git-ignored). */
export const ARTIFACTS = path.join(repoRoot(), 'test', 'artifacts', 'faults');

export type TemporalStore = 'sqlite' | 'postgres';

export interface TemporalServer {
  address: string;
  store: TemporalStore;
  logFile: string;
  /** SIGKILL: the server goes away without a word, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same address and the same store. */
  restart(): Promise<void>;
  /** A clean stop (the end of a test). */
  stop(): Promise<void>;
}

/**
 * The Temporal server of one test file, on a store that outlives the
 * process, so a kill and a restart keep every workflow and timer. The one
 * place that chooses how Temporal runs: FAULTS_TEMPORAL_STORE (default sqlite).
 */
export async function startTemporal(o: { dir: string; store?: TemporalStore; cliPath?: string }): Promise<TemporalServer> {
  const store = o.store ?? ((process.env.FAULTS_TEMPORAL_STORE as TemporalStore | undefined) || 'sqlite');
  if (store !== 'sqlite') {
    throw new Error(`FAULTS_TEMPORAL_STORE=${store}: only the SQLite dev server is wired into the fault harness so far`);
  }
  const cliPath = o.cliPath ?? databaseEnv().cliPath;
  if (!cliPath) throw new Error('HOOKSHOT_TEST_TEMPORAL_CLI is not set: run through test/run.ts');
  const port = await freePort();
  const pidFile = path.join(o.dir, 'temporal.pid');
  const logFile = path.join(o.dir, 'temporal.log');
  const opts = {
    cliPath,
    port,
    uiPort: port + 1000,
    namespace: 'default',
    headless: true,
    dbFile: path.join(o.dir, 'temporal.db'),
    logFile,
    pidFile,
  };
  let server: DevServer | null = await startDevServer(opts);
  return {
    address: server.address,
    store,
    logFile,
    async kill() {
      if (!server) return;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      await until(async () => (alive(pid) ? undefined : true), 10_000, 50);
      await server.stop(); // reaps it and forgets the pid file
      server = null;
    },
    async restart() {
      if (server) throw new Error('the Temporal server is running');
      server = await startDevServer(opts);
    },
    async stop() {
      await server?.stop();
      server = null;
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A killed child stays a zombie until it is reaped: that is gone too.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

