import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../shared/names';
import { repoRoot } from '../shared/repoRoot';

/**
 * Path of the pinned `temporal` CLI: TEMPORAL_CLI, else .tools/bin, else built
 * from Go modules by scripts/temporal-bin.sh (which prints the path last).
 */
export async function resolveTemporalCli(explicit?: string): Promise<string> {
  const script = path.join(repoRoot(), 'scripts', 'temporal-bin.sh');
  // The script's progress (a first build takes minutes) goes straight to our
  // stderr, so a new user sees why the first start is slow.
  const child = spawn('bash', [script], {
    env: { ...process.env, ...(explicit ? { TEMPORAL_CLI: explicit } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`cannot obtain the temporal CLI (scripts/temporal-bin.sh exited ${code}; see above)`);
  const lines = out.trim().split('\n');
  return lines[lines.length - 1]!.trim();
}

export interface DevServerOptions {
  cliPath: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** SQLite file; omitted = in-memory (tests). */
  dbFile?: string;
  logFile?: string;
  /** Records the server's pid so a later start can stop one orphaned by a crash. */
  pidFile?: string;
  headless?: boolean;
  dynamicConfig?: Record<string, string | number | boolean>;
  /** More `server start-dev` flags (the bench's --sqlite-pragma). */
  extraArgs?: string[];
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(o.port),
    '--namespace', o.namespace,
    '--log-level', 'warn',
  ];
  if (o.headless) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.dbFile) {
    mkdirSync(path.dirname(o.dbFile), { recursive: true });
    args.push('--db-filename', o.dbFile);
  }
  for (const name of Object.values(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=Keyword`);
  for (const [k, v] of Object.entries(o.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  args.push(...(o.extraArgs ?? []));

  if (o.pidFile) await stopOrphan(o.pidFile);
  // Own process group: a terminal's Ctrl-C reaches only Hookshot, which
  // drains its workers first and stops the server last.
  const child = spawn(o.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (o.pidFile && child.pid) writeFileSync(o.pidFile, String(child.pid));
  // Last resort on any exit path of ours that skips stop() (SIGKILL excepted).
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let tail = '';
  const keepTail = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stdout!.on('data', keepTail);
  child.stderr!.on('data', keepTail);
  if (o.logFile) {
    mkdirSync(path.dirname(o.logFile), { recursive: true });
    const out = createWriteStream(o.logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${o.port}`;
  try {
    await waitReady(address, child, exited, () => tail);
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
  return {
    address,
    uiUrl: o.headless ? null : `http://127.0.0.1:${o.uiPort}`,
    async stop() {
      await stopChild(child, exited);
      process.removeListener('exit', onExit);
      if (o.pidFile) rmSync(o.pidFile, { force: true });
    },
  };
}

/** A server left running by a crashed Hookshot would hold the port and the SQLite file. */
async function stopOrphan(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (pid > 0 && cmdline.includes('start-dev')) {
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
  } catch {
    /* not running, or not ours */
  }
  rmSync(pidFile, { force: true });
}

async function waitReady(address: string, child: ChildProcess, exited: Promise<number | null>, tail: () => string) {
  const deadline = Date.now() + 60_000;
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  while (Date.now() < deadline) {
    if (exitCode !== undefined || child.exitCode !== null) {
      throw new Error(`temporal dev server exited (code ${exitCode ?? child.exitCode}):\n${tail()}`);
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.getSystemInfo({});
        return;
      } finally {
        await conn.close();
      }
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal dev server did not become ready on ${address} within 60 s:\n${tail()}`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
