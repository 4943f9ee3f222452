// What the dev server and the PostgreSQL topology share: the pinned binaries
// from scripts/temporal-bin.sh, child processes in their own process groups
// with pid files and logs, orphan cleanup, and the frontend readiness wait.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { repoRoot } from '../repoRoot';

/** Runs scripts/temporal-bin.sh; its last stdout line is the path it found or built. */
async function runTemporalBinScript(args: string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  const script = path.join(repoRoot(), 'scripts', 'temporal-bin.sh');
  // The script's progress (a first build takes minutes) goes straight to our
  // stderr, so a new user sees why the first start is slow.
  const child = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`cannot obtain ${what} (scripts/temporal-bin.sh exited ${code}; see above)`);
  const lines = out.trim().split('\n');
  return lines[lines.length - 1].trim();
}

/**
 * Path of the pinned `temporal` CLI: TEMPORAL_CLI, else .tools/bin, else
 * built from Go modules (or taken from the build cache) by scripts/temporal-bin.sh.
 */
export function resolveTemporalCli(explicit?: string): Promise<string> {
  return runTemporalBinScript([], { ...process.env, ...(explicit ? { TEMPORAL_CLI: explicit } : {}) }, 'the temporal CLI');
}

export interface TemporalTools {
  /** The server: frontend, history, matching and worker services. */
  server: string;
  /** temporal-sql-tool; carries the server's schema (--schema-name postgresql/v12/...). */
  sqlTool: string;
  uiServer: string;
}

/** Every pinned binary of one build (scripts/temporal-bin.sh --all). */
export async function resolveTemporalTools(): Promise<TemporalTools> {
  const dir = await runTemporalBinScript(['--all'], process.env, 'the Temporal server binaries');
  const bin = (name: string) => path.join(dir, 'bin', name);
  return { server: bin('temporal-server'), sqlTool: bin('temporal-sql-tool'), uiServer: bin('temporal-ui-server') };
}

export interface Supervised {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** undefined while it runs. */
  exitCode(): number | null | undefined;
  /** The last few KB of its output, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after graceMs; removes the pid file. */
  stop(graceMs?: number): Promise<void>;
}

export interface SuperviseOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output is appended here (and kept in memory in part for errors). */
  logFile?: string;
  /** Records the pid so a later start can stop one orphaned by a crash. */
  pidFile?: string;
}

export function supervise(o: SuperviseOptions): Supervised {
  // With a log file the child writes to it itself: its output does not pass
  // through us, so a crashed Hookshot leaves it running (until the next
  // start stops it) rather than dying of SIGPIPE at its next log line.
  let logFd: number | null = null;
  let logStart = 0;
  if (o.logFile) {
    mkdirSync(path.dirname(o.logFile), { recursive: true });
    logFd = openSync(o.logFile, 'a');
    logStart = fstatSync(logFd).size;
  }
  // Own process group: a terminal's Ctrl-C reaches only Hookshot, which
  // drains its workers first and stops these last, in order.
  const child: ChildProcess = spawn(o.command, o.args, {
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
    detached: true,
    env: o.env ?? process.env,
    cwd: o.cwd,
  });
  if (logFd !== null) closeSync(logFd);
  if (o.pidFile && child.pid) {
    mkdirSync(path.dirname(o.pidFile), { recursive: true });
    writeFileSync(o.pidFile, String(child.pid));
  }
  // Last resort on any exit path of ours that skips stop() (SIGKILL excepted).
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let piped = '';
  child.stdout?.on('data', (b: Buffer) => (piped = (piped + b.toString()).slice(-4000)));
  child.stderr?.on('data', (b: Buffer) => (piped = (piped + b.toString()).slice(-4000)));
  const tail = () => (o.logFile ? readTail(o.logFile, logStart, 4000) : piped);
  let code: number | null | undefined;
  // A spawn failure (ENOENT) arrives as 'error' with no 'exit'.
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve((code = c)));
    child.once('error', (err) => {
      piped += `\n${err.message}`;
      resolve((code = -1));
    });
  });
  return {
    name: o.name,
    pid: child.pid ?? -1,
    exited,
    exitCode: () => code,
    tail: () => (code === -1 ? piped : tail()),
    async stop(graceMs = 10_000) {
      if (code === undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', onExit);
      if (o.pidFile) rmSync(o.pidFile, { force: true });
    },
  };
}

/** Up to `max` bytes at the end of `file`, from `from` on (this run's output only). */
function readTail(file: string, from: number, max: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(from, size - max);
      const buf = Buffer.alloc(Math.max(0, size - start));
      readSync(fd, buf, 0, buf.length, start);
      return buf.toString();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * A process left running by a crashed Hookshot holds the ports (and, for the
 * dev server, the SQLite file). Killed only when /proc shows it is ours:
 * `isOurs` sees its argv, so a recycled pid is left alone.
 */
export async function stopOrphan(pidFile: string, isOurs: (argv: string[]) => boolean): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return false;
  }
  let killed = false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (pid > 1 && isOurs(argv)) {
      // Its own process group (spawned detached): take anything it started too.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
      killed = true;
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    }
  } catch {
    /* not running, or not ours */
  }
  rmSync(pidFile, { force: true });
  return killed;
}

/**
 * Running: some thread of it has not exited. A SIGKILLed multi-threaded
 * process shows its main thread as a zombie while the others still tear
 * down, holding its sockets; and a zombie whose parent (or an init) never
 * reaps it answers kill(pid, 0) forever.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readdirSync(`/proc/${pid}/task`).some((tid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        return state !== 'Z' && state !== 'X';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Until the frontend answers GetSystemInfo; fails early with the output if the process exits. */
export async function waitFrontendReady(address: string, proc: Supervised, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode() !== undefined) {
      throw new Error(`${proc.name} exited (code ${proc.exitCode()}):\n${proc.tail()}`);
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
  throw new Error(`${proc.name} did not become ready on ${address} within ${Math.round(timeoutMs / 1000)} s:\n${proc.tail()}`);
}

/**
 * Fails naming the first of `ports` that something already listens on
 * (127.0.0.1). Checked before a start: otherwise a stranger answering on
 * the frontend port would pass for our server being ready.
 */
export async function assertPortsFree(ports: number[], what: string, waitMs = 3_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (const port of ports) {
    for (;;) {
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        const srv = net.createServer();
        srv.once('error', (e) => resolve(e as NodeJS.ErrnoException));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(null)));
      });
      if (!err) break;
      // A process stopped a moment ago may still be closing its sockets.
      if (Date.now() > deadline) throw new Error(`${what}: port ${port} on 127.0.0.1 is not free (${err.code ?? err.message})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
