// The production Temporal topology without Docker (TEMPORAL_STORE=postgres):
// the full server on PostgreSQL (postgres12 plugin; frontend, history,
// matching and worker in one process) and the Web UI server, both built from
// the same pinned module graph as the CLI, supervised by Hookshot.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { SEARCH_ATTRIBUTES } from '../shared/names';
import { assertPortsFree, stopOrphan, supervise, waitFrontendReady, type Supervised, type TemporalTools } from './process';

/**
 * Shards of the history service. Fixed when the cluster is first created (the
 * server refuses to start if it ever differs), so it is a constant: 4 keeps a
 * 2-core machine's background work small and still spreads workflows over
 * more than one shard lock.
 */
export const NUM_HISTORY_SHARDS = 4;
/** Retention of closed workflows in the namespace Hookshot registers. */
export const NAMESPACE_RETENTION_SECONDS = 72 * 3600;
/** TEMPORAL_PORT .. TEMPORAL_PORT + PORTS_USED - 1 are the server's; the UI has its own. */
export const PORTS_USED = 8;

// gRPC status codes (the client exports no enum for them).
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
// temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
const INDEXED_VALUE_TYPE_KEYWORD = 2;
// Every service reloads its namespace cache this often (the server's
// system.namespaceCacheRefreshInterval default); search attributes on SQL
// visibility live in the namespace, so this is how long a new one takes to
// reach the history service after the frontend shows it.
const NAMESPACE_REFRESH_MS = 2_000;

export interface PostgresTemporalOptions {
  tools: TemporalTools;
  /**
   * PostgreSQL URL of the main store; its user must be able to create
   * databases (the first start creates both). The visibility store is the
   * same server and database name + `_visibility`.
   */
  databaseUrl: string;
  /** Frontend gRPC; the server's other ports follow it (PORTS_USED in all). */
  port: number;
  uiPort: number;
  namespace: string;
  /** Config files, logs and pid files go in <dataDir>/temporal-postgres. */
  dataDir: string;
  headless?: boolean;
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Progress lines (schema applied, namespace created, ...). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface PostgresTemporal {
  address: string;
  uiUrl: string | null;
  databases: { main: string; visibility: string };
  /** The UI, then the server. */
  stop(): Promise<void>;
}

interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The URL's query (sslmode=... and the like), for the server's connectAttributes. */
  attributes: Record<string, string>;
  main: string;
  visibility: string;
}

export function parseTemporalDatabaseUrl(url: string): PgTarget {
  const u = new URL(url);
  const main = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!main) throw new Error('TEMPORAL_DATABASE_URL needs a database name in its path (e.g. /temporal)');
  const attributes: Record<string, string> = {};
  for (const [k, v] of u.searchParams) attributes[k] = v;
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5432),
    // libpq's defaults, which `pg` follows too.
    user: decodeURIComponent(u.username) || process.env.PGUSER || os.userInfo().username,
    password: decodeURIComponent(u.password),
    attributes,
    main,
    visibility: `${main}_visibility`,
  };
}

export async function startPostgresTemporal(o: PostgresTemporalOptions): Promise<PostgresTemporal> {
  const log = o.log ?? (() => undefined);
  const target = parseTemporalDatabaseUrl(o.databaseUrl);
  const dir = path.resolve(o.dataDir, 'temporal-postgres');
  mkdirSync(dir, { recursive: true });
  const files = {
    server: path.join(dir, 'server.yaml'),
    dynamic: path.join(dir, 'dynamicconfig.yaml'),
    uiDir: path.join(dir, 'ui'),
    serverLog: path.join(dir, 'server.log'),
    uiLog: path.join(dir, 'ui.log'),
    serverPid: path.join(dir, 'server.pid'),
    uiPid: path.join(dir, 'ui.pid'),
  };

  // Ours = started with this data directory's config; a recycled pid is not.
  await stopOrphan(files.uiPid, (argv) => argv.includes(files.uiDir));
  await stopOrphan(files.serverPid, (argv) => argv.includes(files.server));

  const ports = Array.from({ length: PORTS_USED }, (_, i) => o.port + i);
  await assertPortsFree(o.headless ? ports : [...ports, o.uiPort], 'TEMPORAL_STORE=postgres (TEMPORAL_PORT..+7, TEMPORAL_UI_PORT)');

  await ensureDatabases(o.databaseUrl, [target.main, target.visibility]);
  await applySchema(o.tools.sqlTool, o.databaseUrl, target, target.main, 'postgresql/v12/temporal', log);
  await applySchema(o.tools.sqlTool, o.databaseUrl, target, target.visibility, 'postgresql/v12/visibility', log);

  writeFileSync(files.dynamic, toYaml(dynamicConfig(o.dynamicConfig)));
  // Holds the database password: owner only.
  writeFileSync(files.server, toYaml(serverConfig(target, o.port, files.dynamic)), { mode: 0o600 });

  const address = `127.0.0.1:${o.port}`;
  const server = supervise({
    name: 'temporal server',
    command: o.tools.server,
    args: ['--config-file', files.server, '--allow-no-auth', 'start'],
    logFile: files.serverLog,
    pidFile: files.serverPid,
  });
  let ui: Supervised | null = null;
  const stop = async () => {
    if (ui) await ui.stop(5_000);
    // The server drains its shards on SIGTERM; give it the time it takes.
    await server.stop(20_000);
  };
  try {
    // A first start creates the cluster's metadata and shards: slower than a restart.
    await waitFrontendReady(address, server, 120_000);
    await registerNamespace(address, o.namespace, server, log);

    let uiUrl: string | null = null;
    if (!o.headless) {
      mkdirSync(files.uiDir, { recursive: true });
      writeFileSync(path.join(files.uiDir, 'hookshot.yaml'), toYaml(uiConfig(address, o.uiPort, o.namespace)));
      ui = supervise({
        name: 'temporal ui-server',
        command: o.tools.uiServer,
        // The config is <root>/<config>/<env>.yaml; absolute root, so the cwd does not matter.
        args: ['--root', files.uiDir, '--config', '.', '--env', 'hookshot', 'start'],
        logFile: files.uiLog,
        pidFile: files.uiPid,
      });
      uiUrl = `http://127.0.0.1:${o.uiPort}`;
      await waitHttp(uiUrl, ui, 30_000);
    }
    return { address, uiUrl, databases: { main: target.main, visibility: target.visibility }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The two databases, created when missing (through the server's `postgres` database). */
async function ensureDatabases(databaseUrl: string, names: string[]): Promise<void> {
  const u = new URL(databaseUrl);
  u.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: u.toString() });
  await admin.connect();
  try {
    for (const name of names) {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) continue;
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      } catch (err) {
        // Another process created it between the check and here: what we wanted.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await admin.end();
  }
}

/**
 * setup-schema on a database without Temporal's version table, then
 * update-schema to the version embedded in the SQL tool (the server's own
 * schema files, same build). On a current database it changes nothing.
 */
async function applySchema(
  sqlTool: string,
  databaseUrl: string,
  t: PgTarget,
  db: string,
  schemaName: string,
  log: NonNullable<PostgresTemporalOptions['log']>,
): Promise<void> {
  const before = await schemaVersion(databaseUrl, db);
  const base = ['--plugin', 'postgres12', '--endpoint', t.host, '--port', String(t.port), '--user', t.user, '--database', db];
  const attrs = new URLSearchParams(t.attributes).toString();
  if (attrs) base.push('--connect-attributes', attrs);
  // The password through the environment, not argv (ps shows argv to everyone).
  const env = { ...process.env, SQL_PASSWORD: t.password };
  if (before === null) await run(sqlTool, [...base, 'setup-schema', '-v', '0.0'], env);
  await run(sqlTool, [...base, 'update-schema', '--schema-name', schemaName], env);
  const after = await schemaVersion(databaseUrl, db);
  if (after !== before) log('Temporal schema applied', { database: db, from: before ?? 'none', to: after });
}

/** Temporal's schema version of `db`, or null before setup-schema. */
async function schemaVersion(databaseUrl: string, db: string): Promise<string | null> {
  const u = new URL(databaseUrl);
  u.pathname = `/${encodeURIComponent(db)}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const { rows } = await c.query<{ exists: boolean }>(`SELECT to_regclass('schema_version') IS NOT NULL AS exists`);
    if (!rows[0]?.exists) return null;
    const v = await c.query<{ curr_version: string }>('SELECT curr_version FROM schema_version WHERE version_partition = 0 AND db_name = $1', [db]);
    return v.rows[0]?.curr_version ?? null;
  } finally {
    await c.end();
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `${path.basename(cmd)} ${args
              .filter((a) => !a.startsWith('-'))
              .slice(-3)
              .join(' ')} failed: ${err.message}\n${(stdout + stderr).slice(-4000)}`,
          ),
        );
      else resolve(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const grpcCode = (err: unknown) => (isGrpcServiceError(err) ? err.code : undefined);

/**
 * The namespace (retention 72h) and Hookshot's search attributes (Keyword),
 * each only when missing. Right after the frontend answers, the history
 * service may still be taking its shards: calls are retried until a deadline.
 * Returns once a new search attribute is usable, since the workers start
 * workflows that set them right after.
 */
async function registerNamespace(
  address: string,
  namespace: string,
  server: Supervised,
  log: NonNullable<PostgresTemporalOptions['log']>,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  const retry = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (server.exitCode() !== undefined) throw new Error(`temporal server exited (code ${server.exitCode()}):\n${server.tail()}`, { cause: err });
        if (Date.now() > deadline) throw new Error(`${what} did not succeed within 120 s: ${(err as Error).message}`, { cause: err });
        await sleep(500);
      }
    }
  };
  const conn = await Connection.connect({ address });
  try {
    const exists = await retry('describing the namespace', async () => {
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return true;
      } catch (err) {
        if (grpcCode(err) === NOT_FOUND) return false;
        throw err;
      }
    });
    if (!exists) {
      await retry('registering the namespace', async () => {
        try {
          await conn.workflowService.registerNamespace({
            namespace,
            workflowExecutionRetentionPeriod: msToTs(NAMESPACE_RETENTION_SECONDS * 1000),
          });
        } catch (err) {
          if (grpcCode(err) !== ALREADY_EXISTS) throw err;
        }
      });
      log('Temporal namespace registered', { namespace, retention: '72h' });
    }

    const wanted = Object.values(SEARCH_ATTRIBUTES);
    const listed = async () => (await conn.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    const present = await retry('listing search attributes', listed);
    const toAdd = wanted.filter((n) => !(n in present));
    if (toAdd.length === 0) return;
    await retry('adding search attributes', async () => {
      try {
        await conn.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(toAdd.map((n) => [n, INDEXED_VALUE_TYPE_KEYWORD])),
        });
      } catch (err) {
        if (grpcCode(err) !== ALREADY_EXISTS) throw err;
      }
    });
    // Usable = the frontend accepts a query on every one of them (its
    // namespace cache has them); then one more refresh for the history service.
    const query = wanted.map((n) => `${n} = 'probe'`).join(' AND ');
    await retry('waiting for the search attributes', () => conn.workflowService.countWorkflowExecutions({ namespace, query }));
    await sleep(NAMESPACE_REFRESH_MS + 500);
    log('Temporal search attributes registered', { namespace, added: toAdd });
  } finally {
    await conn.close();
  }
}

async function waitHttp(url: string, proc: Supervised, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode() !== undefined) throw new Error(`${proc.name} exited (code ${proc.exitCode()}):\n${proc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(`${proc.name} did not answer on ${url} within ${Math.round(timeoutMs / 1000)} s:\n${proc.tail()}`);
}

function serverConfig(t: PgTarget, port: number, dynamicConfigFile: string) {
  const sql = (databaseName: string, maxConns: number) => ({
    pluginName: 'postgres12',
    databaseName,
    connectAddr: `${t.host}:${t.port}`,
    connectProtocol: 'tcp',
    user: t.user,
    password: t.password,
    // Per service: four services share one PostgreSQL with Hookshot itself.
    maxConns,
    maxIdleConns: maxConns,
    maxConnLifetime: '1h',
    ...(Object.keys(t.attributes).length ? { connectAttributes: t.attributes } : {}),
  });
  // Loopback only; the frontend's HTTP API (httpPort) is off, so the four
  // services' gRPC and membership ports are all the server listens on.
  const rpc = (offset: number) => ({ grpcPort: port + offset, membershipPort: port + offset + 1, bindOnIP: '127.0.0.1' });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      numHistoryShards: NUM_HISTORY_SHARDS,
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: {
        default: { sql: sql(t.main, 10) },
        visibility: { sql: sql(t.visibility, 4) },
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: { rpc: rpc(0) },
      history: { rpc: rpc(2) },
      matching: { rpc: rpc(4) },
      worker: { rpc: rpc(6) },
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${port}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

function dynamicConfig(extra: Record<string, string | number | boolean> = {}) {
  const values: Record<string, string | number | boolean> = {
    // IDs and task queue names up to the PostgreSQL schema's column size.
    'limit.maxIDLength': 255,
    // Visibility calls per second (the server's default is 10; the dev server sets 100).
    'frontend.namespaceRPS.visibility': 100,
    ...extra,
  };
  return Object.fromEntries(Object.entries(values).map(([k, value]) => [k, [{ value, constraints: {} }]]));
}

function uiConfig(address: string, port: number, namespace: string) {
  return {
    temporalGrpcAddress: address,
    host: '127.0.0.1',
    port,
    enableUi: true,
    defaultNamespace: namespace,
    // No calls out to temporal.io from a self-hosted box.
    disableNewsFetch: true,
    hideLogs: true,
    // Plain HTTP on loopback: a Secure cookie would never be sent back.
    cors: { cookieInsecure: true },
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Enough YAML for the configs above: maps, lists of maps, scalars (strings JSON-quoted, which YAML reads). */
export function toYaml(value: unknown, indent = ''): string {
  const scalar = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const key = (k: string) => (/^[A-Za-z0-9_.-]+$/.test(k) ? k : JSON.stringify(k));
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  let out = '';
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (isMap(v) && Object.keys(v).length === 0) out += `${indent}${key(k)}: {}\n`;
    else if (isMap(v)) out += `${indent}${key(k)}:\n${toYaml(v, indent + '  ')}`;
    else if (Array.isArray(v)) {
      out += `${indent}${key(k)}:\n`;
      for (const item of v) {
        const body = isMap(item) ? toYaml(item, indent + '    ') : `${indent}    ${scalar(item)}\n`;
        out += `${indent}  - ${body.slice(indent.length + 4)}`;
      }
    } else out += `${indent}${key(k)}: ${scalar(v)}\n`;
  }
  return out;
}
