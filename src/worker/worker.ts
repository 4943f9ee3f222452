import path from 'node:path';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { repoRoot } from '../repoRoot';
import { webhookTaskQueue } from '../shared/names';

export const WORKFLOW_BUNDLE = path.join(repoRoot(), 'dist', 'workflow-bundle.js');

export interface JobWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** The job queue; webhook entities poll the queue beside it (webhookTaskQueue). */
  taskQueue: string;
  deps: ActivityDeps;
  /** How long shutdown waits for running activities before cancelling them. */
  shutdownGraceMs: number;
  bundlePath?: string;
}

/**
 * The process's workers, from the prebuilt workflow bundle (npm run build):
 * one for jobs and one for webhook entities, each with its own slots, so an
 * entity's tasks never queue behind a flood of job tasks.
 */
export async function createWorkers(o: JobWorkerOptions): Promise<Worker[]> {
  const activities = createActivities(o.deps);
  const base = {
    connection: o.connection,
    namespace: o.namespace,
    workflowBundle: { codePath: o.bundlePath ?? WORKFLOW_BUNDLE },
    activities,
    shutdownGraceTime: o.shutdownGraceMs,
  };
  return [await Worker.create({ ...base, taskQueue: o.taskQueue }), await Worker.create({ ...base, taskQueue: webhookTaskQueue(o.taskQueue) })];
}
