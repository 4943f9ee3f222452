import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../shared/names';
import { assertPortsFree, stopOrphan, supervise, waitFrontendReady } from './process';

export { resolveTemporalCli } from './process';

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
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--namespace', o.namespace, '--log-level', 'warn'];
  if (o.headless) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.dbFile) {
    mkdirSync(path.dirname(o.dbFile), { recursive: true });
    args.push('--db-filename', o.dbFile);
  }
  for (const name of Object.values(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=Keyword`);
  for (const [k, v] of Object.entries(o.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  args.push(...(o.extraArgs ?? []));

  if (o.pidFile) await stopOrphan(o.pidFile, (argv) => argv.includes('start-dev'));
  await assertPortsFree(o.headless ? [o.port] : [o.port, o.uiPort], 'temporal dev server (TEMPORAL_PORT, TEMPORAL_UI_PORT)');
  const proc = supervise({ name: 'temporal dev server', command: o.cliPath, args, logFile: o.logFile, pidFile: o.pidFile });
  const address = `127.0.0.1:${o.port}`;
  try {
    await waitFrontendReady(address, proc, 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    address,
    uiUrl: o.headless ? null : `http://127.0.0.1:${o.uiPort}`,
    stop: () => proc.stop(),
  };
}
