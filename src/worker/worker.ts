import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { repoRoot } from '../shared/repoRoot';

export const WORKFLOW_BUNDLE = path.join(repoRoot(), 'dist', 'workflow-bundle.js');

export interface JobWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** How long shutdown waits for running activities before cancelling them. */
  shutdownGraceMs: number;
  bundlePath?: string;
}

/** Loads the prebuilt workflow bundle (npm run build): no bundling at start. */
export function createJobWorker(o: JobWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue,
    workflowBundle: { codePath: o.bundlePath ?? WORKFLOW_BUNDLE },
    activities: createActivities(o.deps),
    shutdownGraceTime: o.shutdownGraceMs,
  });
}
