import {
  allHandlersFinished,
  condition,
  continueAsNew,
  ParentClosePolicy,
  proxyLocalActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { WebhookActivities } from '../activities/webhook';
import type { WebhookEvent, WebhookFanoutInput } from '../src/shared/contracts/webhook';
import { webhookFanoutWorkflowId } from '../src/shared/names';
import {
  attemptOutcomeSignal,
  attemptOutcomesSignal,
  replayFailedSignal,
  setWebhookStatusUpdate,
  webhookStateQuery,
  type AttemptOutcome,
  type WebhookEntityState,
} from '../src/shared/workflowApi';
import { webhookFanoutWorkflow } from './webhookFanout';

export interface WebhookWorkflowInput {
  webhookId: string;
  disableAfter: number;
  /** Carried across continue-as-new. */
  carried?: Carried;
}

interface Carried {
  state: WebhookEntityState;
  warned50: boolean;
  warned90: boolean;
  /** Keys of the latest outcomes: a retried delivery activity reports its attempt again. */
  recent: string[];
  /** Numbers notifications; carried so their dedupe keys never repeat. */
  eventSeq: number;
}

const RECENT_KEYS = 512;

/**
 * One long-running workflow per webhook: the single writer of its failure
 * count and status. Outcomes arrive as signals and are applied at once, in
 * order; the loop persists the latest state in one activity per activation,
 * so a burst of outcomes costs one database write, and a disable is stored
 * in the next one. Attempts read that stored status before sending, so none
 * starts after it. Once disabled, the count stays at the threshold: failures
 * of attempts already under way are not counted. Long work (bulk replay,
 * waking jobs asleep on the ladder after a disable) runs in child workflows,
 * so this loop never waits on it.
 */
export async function webhookWorkflow(input: WebhookWorkflowInput): Promise<void> {
  // Local activities: the state (a disable above all) is written while the
  // activation that decided it runs, with no task round trip through the
  // server, which under load is the slow part.
  const acts = proxyLocalActivities<WebhookActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '200ms', maximumInterval: '10s', backoffCoefficient: 2 },
  });

  const c: Carried = input.carried ?? {
    state: {
      webhookId: input.webhookId,
      status: 'enabled',
      disabledReason: null,
      consecutiveFailedCount: 0,
      disableAfter: input.disableAfter,
      outcomesApplied: 0,
      replaysRequested: 0,
    },
    warned50: false,
    warned90: false,
    recent: [],
    eventSeq: 0,
  };
  c.state.disableAfter = input.disableAfter;
  // The first run adopts what PostgreSQL holds (a webhook may predate its
  // entity); handlers wait for that before touching the state.
  let loaded = !!input.carried;

  // Outcomes that arrive before the stored state is loaded are applied after it.
  const early: AttemptOutcome[] = [];
  let version = 0;
  let persistedVersion = 0;
  let events: WebhookEvent[] = [];
  const fanouts: WebhookFanoutInput[] = [];

  const emit = (kind: WebhookEvent['kind'], threshold: number, count: number) => {
    events.push({ kind, threshold, count, seq: ++c.eventSeq });
  };

  /** Applies one outcome; true when the state changed and must be stored. */
  const applyOutcome = (o: AttemptOutcome): boolean => {
    const key = `${o.jobId}/${o.series}/${o.attempt}`;
    if (c.recent.includes(key)) return false;
    c.recent.push(key);
    if (c.recent.length > RECENT_KEYS) c.recent.splice(0, c.recent.length - RECENT_KEYS);
    const s = c.state;
    s.outcomesApplied++;
    // A disabled webhook's count is frozen where it was disabled; an enable resets it.
    if (s.status === 'disabled') return false;
    if (o.success) {
      const changed = s.consecutiveFailedCount !== 0;
      s.consecutiveFailedCount = 0;
      c.warned50 = false;
      c.warned90 = false;
      return changed;
    }
    const n = ++s.consecutiveFailedCount;
    if (!c.warned50 && n >= Math.ceil(s.disableAfter * 0.5) && n < s.disableAfter) {
      c.warned50 = true;
      emit('warning', 50, n);
    }
    if (!c.warned90 && n >= Math.ceil(s.disableAfter * 0.9) && n < s.disableAfter) {
      c.warned90 = true;
      emit('warning', 90, n);
    }
    if (n >= s.disableAfter) {
      s.status = 'disabled';
      s.disabledReason = 'consecutive_failures';
      emit('disabled', s.disableAfter, n);
      // Jobs asleep on the ladder end now rather than at their next timer.
      fanouts.push({ webhookId: input.webhookId, action: 'stop', requestId: `disable-${c.eventSeq}`, since: null });
    }
    return true;
  };

  setHandler(webhookStateQuery, () => ({ ...c.state }));
  const receive = (o: AttemptOutcome) => {
    if (!loaded) return void early.push(o);
    if (applyOutcome(o)) version++;
  };
  setHandler(attemptOutcomeSignal, receive);
  setHandler(attemptOutcomesSignal, (batch) => batch.forEach(receive));
  setHandler(
    setWebhookStatusUpdate,
    async ({ status, reason }) => {
      await condition(() => loaded);
      const s = c.state;
      if (status === 'enabled') {
        s.status = 'enabled';
        s.disabledReason = null;
        s.consecutiveFailedCount = 0;
        c.warned50 = false;
        c.warned90 = false;
        emit('enabled', 0, 0);
      } else {
        s.status = 'disabled';
        s.disabledReason = reason ?? 'manual';
        emit('disabled_manually', 0, s.consecutiveFailedCount);
        fanouts.push({ webhookId: input.webhookId, action: 'stop', requestId: `disable-${c.eventSeq}`, since: null });
      }
      const mine = ++version;
      await condition(() => persistedVersion >= mine);
      return { ...c.state };
    },
    {
      validator: ({ status }) => {
        if (status !== 'enabled' && status !== 'disabled') throw new Error(`unknown status ${String(status)}`);
      },
    },
  );
  setHandler(replayFailedSignal, ({ replayId, since }) => {
    c.state.replaysRequested++;
    fanouts.push({ webhookId: input.webhookId, action: 'replay', requestId: replayId, since });
  });

  // Handlers are registered above, before this first await: an update or a
  // signal that arrives while the entity starts is held, not refused.
  if (!input.carried) {
    const stored = await acts.loadWebhookState({ webhookId: input.webhookId });
    if (!stored) return; // the webhook was deleted: nothing to serialize
    c.state.status = stored.status;
    c.state.disabledReason = stored.disabledReason;
    c.state.consecutiveFailedCount = stored.consecutiveFailedCount;
  }
  loaded = true;
  for (const o of early.splice(0)) if (applyOutcome(o)) version++;

  for (;;) {
    await condition(() => version > persistedVersion || fanouts.length > 0 || workflowInfo().continueAsNewSuggested);
    if (version > persistedVersion) {
      const target = version;
      const batch = events;
      events = [];
      const gone = await acts.persistWebhookState({ state: { ...c.state }, events: batch });
      persistedVersion = target;
      if (gone) return; // the webhook was deleted meanwhile
      continue;
    }
    const f = fanouts.shift();
    if (f !== undefined) {
      // Only the start is awaited; the child outlives this run (continue-as-new).
      try {
        await startChild(webhookFanoutWorkflow, {
          workflowId: webhookFanoutWorkflowId(f.webhookId, f.action, f.requestId),
          args: [f],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (err) {
        // The same request twice: the first child does the work.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      continue;
    }
    // Hand over only when every handler is done and nothing is unsaved; new
    // work wakes the loop instead, so a flush is never blocked by this wait.
    await condition(() => allHandlersFinished() || version > persistedVersion || fanouts.length > 0);
    if (allHandlersFinished() && version === persistedVersion && fanouts.length === 0) {
      return continueAsNew<typeof webhookWorkflow>({ webhookId: input.webhookId, disableAfter: input.disableAfter, carried: c });
    }
  }
}
