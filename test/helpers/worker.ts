import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestHookshot } from './hookshot';

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

/** A worker in its own process, as production runs it (ROLE=worker), on the test Hookshot's database and task queue. */
export function spawnWorker(hs: TestHookshot, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      ROLE: 'worker',
      DATABASE_URL: hs.database.url,
      TEMPORAL_ADDRESS: hs.temporalAddress,
      TEMPORAL_TASK_QUEUE: hs.taskQueue,
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
