// Baseline for the benchmark: the least a workflow with one activity costs.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export async function emptyWorkflow(): Promise<void> {
  await noop();
}

/** No activity at all: one workflow task, what published "workflows per second" figures count. */
export async function bareWorkflow(): Promise<void> {}
