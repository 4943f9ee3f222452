import { webhookTaskQueue, webhookWorkflowId } from '../shared/names';
import { attemptOutcomesSignal, type AttemptOutcome } from '../shared/workflowApi';
import type { WorkflowStarter } from './client';

/** Sends one batch of outcomes to a webhook's entity (signal-with-start). */
export type SendOutcomes = (webhookId: string, outcomes: AttemptOutcome[]) => Promise<void>;

/**
 * Reports delivery outcomes to webhook entities, one signal per webhook in
 * flight at a time: outcomes that arrive while a report to the same webhook
 * is on its way go together in the next one, in arrival order. Nothing waits
 * on a timer, so a lone attempt reports at once; a busy webhook pays one
 * signal (and one entity task) per round trip instead of one per attempt.
 * Each caller's promise settles when the signal carrying its outcome is
 * accepted by the server, so an attempt is never acknowledged before its
 * outcome is durable; a failed signal fails every caller in it, whose
 * activities retry and report again (the entity ignores a repeated key).
 */
export function createOutcomeReporter(send: SendOutcomes, maxBatch = 200) {
  interface Waiting {
    outcome: AttemptOutcome;
    resolve(): void;
    reject(err: unknown): void;
  }
  const queues = new Map<string, { busy: boolean; waiting: Waiting[] }>();

  const pump = async (webhookId: string, q: { busy: boolean; waiting: Waiting[] }) => {
    q.busy = true;
    while (q.waiting.length > 0) {
      const batch = q.waiting.splice(0, maxBatch);
      try {
        await send(
          webhookId,
          batch.map((w) => w.outcome),
        );
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    q.busy = false;
    queues.delete(webhookId);
  };

  return {
    report(webhookId: string, outcome: AttemptOutcome): Promise<void> {
      let q = queues.get(webhookId);
      if (!q) queues.set(webhookId, (q = { busy: false, waiting: [] }));
      const queue = q;
      const done = new Promise<void>((resolve, reject) => queue.waiting.push({ outcome, resolve, reject }));
      if (!queue.busy) void pump(webhookId, queue);
      return done;
    },
  };
}

/**
 * The reporter activities use: each batch is a signal-with-start on the
 * webhook's entity (started if it does not run). Job deliveries and crawler
 * event deliveries report through it alike, keyed `<job or event id>/<series>/<attempt>`.
 */
export function createEntityReporter(temporal: WorkflowStarter, settings: { taskQueue: string; disableAfter: number }) {
  return createOutcomeReporter(async (webhookId, outcomes) => {
    await temporal.workflow.signalWithStart('webhookWorkflow', {
      workflowId: webhookWorkflowId(webhookId),
      taskQueue: webhookTaskQueue(settings.taskQueue),
      args: [{ webhookId, disableAfter: settings.disableAfter }],
      signal: attemptOutcomesSignal,
      signalArgs: [outcomes],
    });
  });
}
