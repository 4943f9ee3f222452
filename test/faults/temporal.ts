// The Temporal server of the fault suite, behind one function so the
// topology it runs on is chosen in one place.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startDevServer } from '../../src/temporalServer/devServer';
import { startPostgresTemporal } from '../../src/temporalServer/postgresServer';
import { resolveTemporalTools } from '../../src/temporalServer/process';
import { repoRoot } from '../../src/repoRoot';
import { databaseEnv } from '../helpers/env';
import { freePortRange } from '../helpers/net';
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
 * place that chooses how Temporal runs: FAULTS_TEMPORAL_STORE, postgres (the
 * production topology, default) or sqlite (the dev server on a file).
 */
export async function startTemporal(o: { dir: string; store?: TemporalStore; cliPath?: string }): Promise<TemporalServer> {
  const store = o.store ?? ((process.env.FAULTS_TEMPORAL_STORE as TemporalStore | undefined) || 'postgres');
  if (store !== 'sqlite' && store !== 'postgres') throw new Error(`FAULTS_TEMPORAL_STORE=${store}: sqlite or postgres`);
  // Below 32768: the PostgreSQL topology's membership ports are stored as smallint.
  const port = await freePortRange(9);
  if (store === 'postgres') return startOnPostgres(o.dir, port);
  const cliPath = o.cliPath ?? databaseEnv().cliPath;
  if (!cliPath) throw new Error('HOOKSHOT_TEST_TEMPORAL_CLI is not set: run through test/run.ts');
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
  return supervised({ store, logFile, pidFile, start: () => startDevServer(opts) });
}

/**
 * The production topology: the full Temporal server on the machine's
 * PostgreSQL (TEMPORAL_STORE=postgres), on databases of this run's prefix,
 * so test/run.ts drops them with the rest.
 */
async function startOnPostgres(dir: string, port: number): Promise<TemporalServer> {
  const { adminDbUrl, dbPrefix } = databaseEnv();
  const tools = await resolveTemporalTools();
  const name = `${dbPrefix}temporal_${randomBytes(3).toString('hex')}`;
  const databaseUrl = Object.assign(new URL(adminDbUrl), { pathname: `/${name}` }).toString();
  const opts = { tools, databaseUrl, port, uiPort: port + 8, namespace: 'default', dataDir: dir, headless: true };
  return supervised({
    store: 'postgres',
    logFile: path.join(dir, 'temporal-postgres', 'server.log'),
    pidFile: path.join(dir, 'temporal-postgres', 'server.pid'),
    start: () => startPostgresTemporal(opts),
  });
}

/** Kill, restart and stop around either topology's start (same address and store each time). */
async function supervised(o: {
  store: TemporalStore;
  logFile: string;
  pidFile: string;
  start: () => Promise<{ address: string; stop(): Promise<void> }>;
}): Promise<TemporalServer> {
  let server: { address: string; stop(): Promise<void> } | null = await o.start();
  return {
    address: server.address,
    store: o.store,
    logFile: o.logFile,
    async kill() {
      if (!server) return;
      await killPid(o.pidFile);
      await server.stop(); // reaps it and forgets the pid file
      server = null;
    },
    async restart() {
      if (server) throw new Error('the Temporal server is running');
      server = await o.start();
    },
    async stop() {
      await server?.stop();
      server = null;
    },
  };
}

/** SIGKILL: the server goes away without a word, as in a crash. */
async function killPid(pidFile: string) {
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  await until(async () => (alive(pid) ? undefined : true), 10_000, 50);
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
