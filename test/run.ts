// The test entry. `npm test`: every file but the fault suite, with one
// Temporal dev server and one workflow bundle (built by `npm run build`) for
// the whole run, real PostgreSQL with a fresh database per test file, every
// resource torn down at the end. `npm run test:unit` (--unit): test/unit
// only, which needs neither PostgreSQL nor Chromium (workflow unit tests
// start the dev-server binary from .tools themselves). `npm run test:faults`
// (--faults): test/faults only, run on its own because it kills processes
// and restarts the machine's PostgreSQL; its files start Hookshot as child
// processes on a Temporal server of their own. Every path makes a
// throwaway CA for the run (test/helpers/tls.ts) and hands it to the test
// processes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { resolveTemporalCli, startDevServer } from '../src/temporalServer/devServer';
import { freePort } from './helpers/net';
import { generateTestTls } from './helpers/tls';
import { ARTIFACTS, startTemporal } from './faults/temporal';
import { repoRoot } from '../src/repoRoot';

const ADMIN_DB_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function findTests(dir: string, skip: string[] = []): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (skip.includes(p)) continue;
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

async function dropRunDatabases(prefix: string) {
  const c = new pg.Client({ connectionString: ADMIN_DB_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const unitOnly = args.includes('--unit');
  const faults = args.includes('--faults');
  const filters = args.filter((a) => a !== '--unit' && a !== '--faults');
  const faultDir = path.join(__dirname, 'faults');
  const found = unitOnly ? findTests(path.join(__dirname, 'unit')) : faults ? findTests(faultDir) : findTests(__dirname, [faultDir]);
  const files = found.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  if (files.length === 0) throw new Error(`no test files match ${filters.join(' ')}`);
  const cliPath = await resolveTemporalCli(process.env.TEMPORAL_CLI);
  // Made here, not in a test file: Node reads NODE_EXTRA_CA_CERTS only when a process starts.
  const tls = generateTestTls();
  let code: number;
  try {
    code = await (unitOnly ? runFiles(files, { ...tls.env, HOOKSHOT_TEST_TEMPORAL_CLI: cliPath }) : runAll(files, cliPath, tls.env, faults));
  } finally {
    tls.remove();
  }
  process.exit(code);
}

/**
 * The full run: PostgreSQL, Chromium and one Temporal dev server around the
 * files. The fault suite needs no Chromium (its captures are plain HTTP).
 */
async function runAll(files: string[], cliPath: string, tlsEnv: Record<string, string>, faults: boolean): Promise<number> {
  // Fail fast, with a clear message, when PostgreSQL is not reachable.
  const probe = new pg.Client({ connectionString: ADMIN_DB_URL });
  await probe.connect().catch((err) => {
    throw new Error(`PostgreSQL is not reachable at ${ADMIN_DB_URL} (${err.message}); set TEST_DATABASE_ADMIN_URL`);
  });
  await probe.end();

  if (faults) return runFaults(files, cliPath, tlsEnv);

  // Capture tests drive a real Chromium: install Debian's when it is missing.
  const chromium = spawnSync('bash', [path.join(repoRoot(), 'scripts', 'ensure-chromium.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (chromium.status !== 0) throw new Error('Chromium is needed for the capture tests (see the message above)');
  process.env.CHROMIUM_PATH = chromium.stdout.toString().trim().split('\n').pop();

  const port = await freePort();
  const dev = await startDevServer({
    cliPath,
    port,
    uiPort: port + 1000,
    namespace: 'default',
    headless: true,
    // Small enough that tests can force continue-as-new of long-lived workflows.
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 100 },
  });
  const dbPrefix = `hookshot_test_${randomBytes(4).toString('hex')}_`;
  console.log(`# temporal dev server ${dev.address} (${cliPath}); databases ${dbPrefix}*`);

  try {
    return await runFiles(files, {
      ...tlsEnv,
      HOOKSHOT_TEST_TEMPORAL_ADDRESS: dev.address,
      HOOKSHOT_TEST_TEMPORAL_CLI: cliPath,
      HOOKSHOT_TEST_ADMIN_DB_URL: ADMIN_DB_URL,
      HOOKSHOT_TEST_DB_PREFIX: dbPrefix,
    });
  } finally {
    await dev.stop();
    await dropRunDatabases(dbPrefix).catch((err) => console.error(`could not drop test databases: ${err.message}`));
  }
}

/**
 * The fault suite: PostgreSQL, and a Temporal server started the way the
 * fault harness starts its own (startTemporal, one place to change the
 * topology) for the files that run Hookshot in-process. Files that kill
 * Temporal start their own.
 */
async function runFaults(files: string[], cliPath: string, tlsEnv: Record<string, string>): Promise<number> {
  const dbPrefix = `hookshot_faults_${randomBytes(4).toString('hex')}_`;
  const dir = path.join(ARTIFACTS, `${new Date().toISOString().replace(/[:.]/g, '-')}-shared-temporal`);
  mkdirSync(dir, { recursive: true });
  // The PostgreSQL topology puts its databases under the run's prefix, dropped below.
  Object.assign(process.env, { HOOKSHOT_TEST_ADMIN_DB_URL: ADMIN_DB_URL, HOOKSHOT_TEST_DB_PREFIX: dbPrefix });
  let temporal: Awaited<ReturnType<typeof startTemporal>> | null = null;
  try {
    // Inside the try: a server that fails to start may have made its databases already.
    temporal = await startTemporal({ dir, cliPath });
    console.log(`# fault suite: temporal ${temporal.address} (${temporal.store}); databases ${dbPrefix}*; logs in ${ARTIFACTS}`);
    return await runFiles(files, {
      ...tlsEnv,
      HOOKSHOT_TEST_TEMPORAL_ADDRESS: temporal.address,
      HOOKSHOT_TEST_TEMPORAL_CLI: cliPath,
      HOOKSHOT_TEST_ADMIN_DB_URL: ADMIN_DB_URL,
      HOOKSHOT_TEST_DB_PREFIX: dbPrefix,
    });
  } finally {
    await temporal?.stop();
    await dropRunDatabases(dbPrefix).catch((err) => console.error(`could not drop test databases: ${err.message}`));
  }
}

/** Node's test runner over the files, one at a time; resolves with its exit code. */
function runFiles(files: string[], env: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=spec', `--test-timeout=${Number(process.env.TEST_TIMEOUT_MS ?? 300_000)}`, '--test-concurrency=1', ...files],
      { stdio: 'inherit', env: { ...process.env, ...env } },
    );
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
