// Workflow unit tests: our own dev-server binary through @temporalio/testing
// (no registry here ships the time-skipping server, so durations are data),
// the prebuilt workflow bundle, and activities the test writes itself.
import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../../src/shared/searchAttributes';
import { WORKFLOW_BUNDLE } from '../../src/worker/worker';
import { resolveTemporalCli } from '../../src/temporalServer/devServer';

let runtimeInstalled = false;

/** A dev server of our own for one test file; `suggestContinueAsNewAt` makes entity hand-overs happen in small tests. */
export async function createWorkflowEnv(opts: { suggestContinueAsNewAt?: number } = {}): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    // The SDK's own warnings (e.g. a workflow failing on purpose) would bury the test output.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const path = process.env.HOOKSHOT_TEST_TEMPORAL_CLI ?? (await resolveTemporalCli(process.env.TEMPORAL_CLI));
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      searchAttributes: [SA_JOB_STATUS, SA_JOB_KIND, SA_PROJECT_NAME, SA_WEBHOOK_NAME],
      extraArgs: opts.suggestContinueAsNewAt
        ? ['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${opts.suggestContinueAsNewAt}`]
        : [],
    },
  });
}

/** A worker on a queue of its own, running the prebuilt bundle with the given activities until fn settles. */
export async function withWorker<T>(env: TestWorkflowEnvironment, activities: object, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `unit-${randomBytes(6).toString('hex')}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE },
    activities,
  });
  return worker.runUntil(fn(taskQueue));
}
