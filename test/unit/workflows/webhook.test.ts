// The webhook entity on a real dev server with activities written here:
// counting, the disable at the threshold, dedupe, continue-as-new with
// signals in flight, and bulk work off its loop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { StoredWebhookState, WebhookEvent, WebhookFanoutInput } from '../../../src/shared/contracts/webhook';
import { webhookWorkflowId } from '../../../src/shared/names';
import {
  attemptOutcomeSignal,
  attemptOutcomesSignal,
  replayFailedSignal,
  setWebhookStatusUpdate,
  webhookStateQuery,
  type WebhookEntityState,
} from '../../../src/shared/workflowApi';
import { createWorkflowEnv, withWorker } from '../../helpers/workflowEnv';
import { until } from '../../helpers/wait';

interface Persisted {
  state: WebhookEntityState;
  events: WebhookEvent[];
  at: number;
}

function fakeEntityActivities(
  opts: { stored?: StoredWebhookState; persistDelayMs?: number; fanout?: (i: WebhookFanoutInput) => Promise<number> } = {},
) {
  const persisted: Persisted[] = [];
  const fanouts: WebhookFanoutInput[] = [];
  const activities = {
    async loadWebhookState(): Promise<StoredWebhookState | null> {
      return opts.stored ?? { status: 'enabled', disabledReason: null, consecutiveFailedCount: 0 };
    },
    async persistWebhookState(i: { state: WebhookEntityState; events: WebhookEvent[] }) {
      if (opts.persistDelayMs) await new Promise((r) => setTimeout(r, opts.persistDelayMs));
      persisted.push({ ...i, at: Date.now() });
      return false;
    },
    async signalWebhookJobs(i: WebhookFanoutInput) {
      fanouts.push(i);
      return opts.fanout ? opts.fanout(i) : 0;
    },
  };
  return { persisted, fanouts, activities };
}

const outcome = (n: number, success: boolean) => ({ jobId: `job-${n}`, series: 0, attempt: 1, success });

describe('webhook entity workflow', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    // A hand-over every few dozen events, so small tests cross continue-as-new.
    env = await createWorkflowEnv({ suggestContinueAsNewAt: 60 });
  });
  after(async () => {
    await env?.teardown();
  });

  const start = (taskQueue: string, webhookId: string, disableAfter: number) =>
    env.client.workflow.start('webhookWorkflow', { workflowId: webhookWorkflowId(webhookId), taskQueue, args: [{ webhookId, disableAfter }] });
  const handleOf = (webhookId: string) => env.client.workflow.getHandle(webhookWorkflowId(webhookId));

  it('disables at the threshold exactly, stores it, freezes the count and wakes waiting jobs', async () => {
    const { persisted, fanouts, activities } = fakeEntityActivities({ persistDelayMs: 50 });
    const id = randomUUID();
    await withWorker(env, activities, async (tq) => {
      await start(tq, id, 10);
      const h = handleOf(id);
      // Fifteen failures at once: the 10th disables; none after it counts.
      await Promise.all(Array.from({ length: 15 }, (_, n) => h.signal(attemptOutcomeSignal, outcome(n, false))));
      const state = await until(async () => {
        const s = await h.query(webhookStateQuery);
        return s.outcomesApplied === 15 ? s : undefined;
      });
      assert.equal(state.status, 'disabled');
      assert.equal(state.disabledReason, 'consecutive_failures');
      assert.equal(state.consecutiveFailedCount, 10);
      const disabledWrite = await until(async () => persisted.find((p) => p.state.status === 'disabled'));
      assert.equal(disabledWrite.state.consecutiveFailedCount, 10);
      const kinds = persisted.flatMap((p) => p.events.map((e) => `${e.kind}:${e.count}`));
      assert.deepEqual(kinds, ['warning:5', 'warning:9', 'disabled:10']);
      // Jobs asleep on the ladder are woken by a child, not by the entity's loop.
      await until(async () => (fanouts.some((f) => f.action === 'stop') ? true : undefined));
      // Re-enabling resets the count and is stored before it returns.
      const enabled = await h.executeUpdate(setWebhookStatusUpdate, { args: [{ status: 'enabled' }] });
      assert.equal(enabled.status, 'enabled');
      assert.equal(enabled.consecutiveFailedCount, 0);
      assert.equal(persisted[persisted.length - 1]!.state.status, 'enabled');
      await h.terminate();
    });
  });

  it('counts a repeated outcome once, and a success resets the count', async () => {
    const { activities } = fakeEntityActivities();
    const id = randomUUID();
    await withWorker(env, activities, async (tq) => {
      await start(tq, id, 100);
      const h = handleOf(id);
      for (const n of [1, 1, 2, 2, 2]) await h.signal(attemptOutcomeSignal, outcome(n, false));
      await h.signal(attemptOutcomeSignal, outcome(3, false));
      await h.signal(attemptOutcomeSignal, outcome(4, true));
      await h.signal(attemptOutcomeSignal, outcome(5, false));
      const s = await until(async () => {
        const q = await h.query(webhookStateQuery);
        return q.outcomesApplied === 5 ? q : undefined;
      });
      // 1, 2 and 3 failed, 4 reset the count, 5 failed: one in a row.
      assert.equal(s.consecutiveFailedCount, 1);
      await h.terminate();
    });
  });

  it('applies a batch of outcomes in order, as single signals are', async () => {
    const { activities } = fakeEntityActivities();
    const id = randomUUID();
    await withWorker(env, activities, async (tq) => {
      await start(tq, id, 100);
      const h = handleOf(id);
      // One signal: its order is the order applied (a repeat counts once).
      await h.signal(attemptOutcomesSignal, [
        outcome(1, false),
        outcome(1, false),
        outcome(2, false),
        outcome(3, true),
        outcome(4, false),
        outcome(5, false),
        outcome(5, false),
        outcome(6, false),
      ]);
      const s = await until(async () => {
        const q = await h.query(webhookStateQuery);
        return q.outcomesApplied === 6 ? q : undefined;
      });
      // 3 succeeded; 4, 5 and 6 failed after it.
      assert.equal(s.consecutiveFailedCount, 3);
      await h.terminate();
    });
  });

  it('adopts the stored state on first start', async () => {
    const { activities } = fakeEntityActivities({ stored: { status: 'enabled', disabledReason: null, consecutiveFailedCount: 4 } });
    const id = randomUUID();
    await withWorker(env, activities, async (tq) => {
      await start(tq, id, 5);
      await handleOf(id).signal(attemptOutcomeSignal, outcome(1, false));
      const s = await until(async () => {
        const q = await handleOf(id).query(webhookStateQuery);
        return q.outcomesApplied === 1 ? q : undefined;
      });
      assert.equal(s.status, 'disabled');
      assert.equal(s.consecutiveFailedCount, 5);
      await handleOf(id).terminate();
    });
  });

  it('continues as new with signals in flight and loses none', async () => {
    const { persisted, activities } = fakeEntityActivities();
    const id = randomUUID();
    const total = 120;
    await withWorker(env, activities, async (tq) => {
      const first = await start(tq, id, 1000);
      const h = handleOf(id);
      // In waves, so the entity hands over between and during them.
      for (let wave = 0; wave < 4; wave++) {
        await Promise.all(Array.from({ length: total / 4 }, (_, i) => h.signal(attemptOutcomeSignal, outcome(wave * 1000 + i, false))));
      }
      const state = await until(async () => {
        const q = await h.query(webhookStateQuery);
        return q.outcomesApplied === total ? q : undefined;
      });
      assert.equal(state.consecutiveFailedCount, total);
      assert.equal(state.outcomesApplied, total);
      // The hand-over comes once the batch is stored and no handler runs.
      await until(async () => ((await h.describe()).runId !== first.firstExecutionRunId ? true : undefined));
      // Old keys travel with the state: a repeat after the hand-over is still dropped.
      await h.signal(attemptOutcomeSignal, outcome(0, false));
      await h.signal(attemptOutcomeSignal, outcome(9999, false));
      const last = await until(async () => {
        const q = await h.query(webhookStateQuery);
        return q.outcomesApplied === total + 1 ? q : undefined;
      });
      assert.equal(last.consecutiveFailedCount, total + 1);
      await until(async () => (persisted.at(-1)?.state.consecutiveFailedCount === total + 1 ? true : undefined));
      await h.terminate();
    });
  });

  it('a bulk replay runs in a child: a long replay does not hold up a disable', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const { persisted, fanouts, activities } = fakeEntityActivities({
      fanout: async (i) => {
        if (i.action === 'replay') await released; // a replay of thousands, still running
        return 0;
      },
    });
    const id = randomUUID();
    await withWorker(env, activities, async (tq) => {
      await start(tq, id, 3);
      const h = handleOf(id);
      await h.signal(replayFailedSignal, { replayId: 'bulk-1', since: null });
      await until(async () => (fanouts.some((f) => f.action === 'replay') ? true : undefined));
      // The replay is still running; the threshold is crossed meanwhile.
      for (let n = 0; n < 3; n++) await h.signal(attemptOutcomeSignal, outcome(n, false));
      await until(async () => (persisted.some((p) => p.state.status === 'disabled') ? true : undefined));
      const enabled = await h.executeUpdate(setWebhookStatusUpdate, { args: [{ status: 'enabled' }] });
      assert.equal(enabled.status, 'enabled');
      release();
      await h.terminate();
    });
  });
});
