import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  attemptOutcomeSignal,
  replayFailedSignal,
  setWebhookStatusUpdate,
  webhookStateQuery,
  type AttemptOutcome,
  type WebhookEntityState,
} from '../src/shared/workflowApi';
import type { WebhookEvent } from '../src/shared/jobTypes';

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
  recent: string[];
  /** Numbers notifications; carried so their dedupe keys never repeat. */
  eventSeq: number;
  pendingReplays: Array<{ replayId: string; since: string | null }>;
}

// Outcome keys remembered to drop a repeated report (the fallback path
// through an activity may deliver one twice).
const RECENT_KEYS = 512;

/**
 * One long-running workflow per webhook: the single writer of its failure
 * count and status. Signals mutate state synchronously; the main loop
 * persists the latest state in one activity per batch, so a burst of
 * outcomes costs one database write, not one per outcome.
 */
export async function webhookWorkflow(input: WebhookWorkflowInput): Promise<void> {
  const acts = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
  });
  const replayActs = proxyActivities<Activities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
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
    pendingReplays: [],
  };
  c.state.disableAfter = input.disableAfter;
  // The first run adopts what PostgreSQL holds (a webhook may predate its
  // entity); outcomes that arrive before that are applied after it.
  let loaded = !!input.carried;
  const early: AttemptOutcome[] = [];

  let version = 0;
  let persistedVersion = 0;
  let events: WebhookEvent[] = [];

  const changed = () => {
    version++;
  };
  const emit = (kind: WebhookEvent['kind'], threshold: number, count: number) => {
    events.push({ kind, threshold, count, seq: ++c.eventSeq });
  };

  const applyOutcome = (o: AttemptOutcome) => {
    const key = `${o.jobId}/${o.series}/${o.attempt}`;
    if (c.recent.includes(key)) return;
    c.recent.push(key);
    if (c.recent.length > RECENT_KEYS) c.recent.splice(0, c.recent.length - RECENT_KEYS);
    const s = c.state;
    s.outcomesApplied++;
    const before = `${s.consecutiveFailedCount}/${s.status}`;
    if (o.success) {
      s.consecutiveFailedCount = 0;
      c.warned50 = false;
      c.warned90 = false;
    } else {
      s.consecutiveFailedCount++;
      const n = s.consecutiveFailedCount;
      if (!c.warned50 && n >= Math.ceil(s.disableAfter * 0.5) && n < s.disableAfter) {
        c.warned50 = true;
        emit('warning', 50, n);
      }
      if (!c.warned90 && n >= Math.ceil(s.disableAfter * 0.9) && n < s.disableAfter) {
        c.warned90 = true;
        emit('warning', 90, n);
      }
      if (s.status === 'enabled' && n >= s.disableAfter) {
        s.status = 'disabled';
        s.disabledReason = 'consecutive_failures';
        emit('disabled', s.disableAfter, n);
      }
    }
    // A success on a clean webhook stores nothing new: no write for the common
    // case. Patched, since entities already running persisted every outcome.
    const unchanged = `${s.consecutiveFailedCount}/${s.status}` === before && events.length === 0;
    if (!(unchanged && patched('skip-unchanged-persist'))) changed();
  };

  setHandler(attemptOutcomeSignal, (o) => (loaded ? applyOutcome(o) : void early.push(o)));
  setHandler(webhookStateQuery, () => ({ ...c.state }));
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
      }
      changed();
      const mine = version;
      await condition(() => persistedVersion >= mine);
      return { ...c.state };
    },
    {
      validator: ({ status }) => {
        if (status !== 'enabled' && status !== 'disabled') throw new Error(`unknown status ${String(status)}`);
      },
    },
  );
  setHandler(replayFailedSignal, (r) => {
    if (c.pendingReplays.some((p) => p.replayId === r.replayId)) return;
    c.pendingReplays.push(r);
    c.state.replaysRequested++;
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
  for (const o of early.splice(0)) applyOutcome(o);

  for (;;) {
    await condition(
      () => version > persistedVersion || c.pendingReplays.length > 0 || workflowInfo().continueAsNewSuggested,
    );
    if (version > persistedVersion) {
      const target = version;
      const batch = events;
      events = [];
      const gone = await acts.persistWebhookState({ state: { ...c.state }, events: batch, version: target });
      persistedVersion = target;
      if (gone) return; // the webhook was deleted meanwhile
      continue;
    }
    if (c.pendingReplays.length > 0) {
      const r = c.pendingReplays[0]!;
      // One activity pages through the failed jobs and signals each with bounded concurrency.
      await replayActs.replayFailedDeliveries({ webhookId: input.webhookId, replayId: r.replayId, since: r.since });
      c.pendingReplays.shift();
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) {
      // Hand over only when every handler is done and nothing is unsaved;
      // new work wakes the loop instead, so the flush itself is never blocked.
      await condition(() => allHandlersFinished() || version > persistedVersion || c.pendingReplays.length > 0);
      if (allHandlersFinished() && version === persistedVersion && c.pendingReplays.length === 0) {
        return continueAsNew<typeof webhookWorkflow>({ webhookId: input.webhookId, disableAfter: input.disableAfter, carried: c });
      }
    }
  }
}
