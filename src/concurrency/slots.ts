import type { Db, DbClient } from '../db/pool';
import {
  acquireCaptureSlot,
  enqueueCapture,
  fillCaptureSlots,
  releaseCaptureSlot,
  releaseCaptureSlotsByPrefix,
  type SlotState,
} from '../db/repositories/captureSlots';
import { concurrencyOf } from '../db/repositories/projects';
import type { Project } from '../db/rows';
import type { Logger } from '../logger';
import type { WorkflowStarter } from '../temporal/client';
import { holderWorkflowId } from '../shared/names';
import { slotGrantedSignal } from '../shared/workflowApi';

export interface CaptureSlotsDeps {
  db: Db;
  temporal: WorkflowStarter;
  logger: Logger;
  /** A lease's life without release: the capture activity's own limit, so only a vanished holder outlives it. */
  ttlMs: number;
  /** How long a slot granted from the line waits for its job to come for it (a busy worker may take a while). */
  grantTtlMs?: number;
  /** CAPTURE_CONCURRENCY=off: no limit (benchmarks compare the cost). */
  enabled: boolean;
}

export type SlotProject = Pick<Project, 'id' | 'plan' | 'concurrency'>;

const GRANT_TTL_MS = 15 * 60_000;

/** A project's capture slots (see createCaptureSlots); written out so a test's fake is checked against it. */
export interface CaptureSlots {
  /** CAPTURE_CONCURRENCY=plan: the limit applies. */
  readonly enabled: boolean;
  acquire(project: SlotProject, holder: string, wait: boolean, db?: Db | DbClient): Promise<SlotState>;
  enqueue(project: SlotProject, holder: string, db: DbClient): Promise<void>;
  release(project: SlotProject, holder: string): Promise<void>;
  releaseAll(project: SlotProject, prefix: string): Promise<void>;
  refill(project: SlotProject): Promise<void>;
}

/**
 * The plan's concurrency limit: a capture runs only while it holds one of
 * its project's C slots (leases in PostgreSQL, see 005_capture_slots).
 * Webhook jobs join their project's line when submitted and get slots in
 * that order; a job that asks while its turn has not come is woken by a
 * signal to its workflow when it is granted one. Nothing polls.
 */
export function createCaptureSlots(deps: CaptureSlotsDeps): CaptureSlots {
  const request = (project: SlotProject, holder: string) => ({
    projectId: project.id,
    holder,
    limit: concurrencyOf(project),
    ttlMs: deps.ttlMs,
    grantTtlMs: deps.grantTtlMs ?? GRANT_TTL_MS,
  });

  /** Wakes the workflows granted a slot. A lost signal is caught up by the waiter's own recheck. */
  const wake = async (holders: string[]) => {
    await Promise.all(
      holders.map((h) =>
        deps.temporal.workflow
          .getHandle(holderWorkflowId(h))
          .signal(slotGrantedSignal)
          .catch((err) => deps.logger.warn({ holder: h, err: (err as Error).message }, 'could not wake a capture granted a slot')),
      ),
    );
  };

  return {
    enabled: deps.enabled,

    /**
     * A slot for the holder, or its place in line (`wait`), or 'full'. Pass
     * the transaction's client to take the slot in the same transaction as
     * other writes (a synchronous job's row).
     */
    async acquire(project: SlotProject, holder: string, wait: boolean, db: Db | DbClient = deps.db): Promise<SlotState> {
      if (!deps.enabled) return 'granted';
      const { state, woken } = await acquireCaptureSlot(db, { ...request(project, holder), wait });
      if (woken.length) await wake(woken);
      return state;
    },

    /** A webhook job joins its project's line when submitted (inside the submission's transaction). */
    async enqueue(project: SlotProject, holder: string, db: DbClient): Promise<void> {
      if (deps.enabled) await enqueueCapture(db, project.id, holder);
    },

    /** Frees the slot (or the place in line) and wakes whoever is granted it. */
    async release(project: SlotProject, holder: string): Promise<void> {
      if (!deps.enabled) return;
      await wake(await releaseCaptureSlot(deps.db, request(project, holder)));
    },

    /** Frees every slot and place in line of holders starting with `prefix` (a crawl's pages when it ends). */
    async releaseAll(project: SlotProject, prefix: string): Promise<void> {
      if (!deps.enabled) return;
      const { projectId, limit, grantTtlMs } = request(project, '');
      await wake(await releaseCaptureSlotsByPrefix(deps.db, { projectId, limit, grantTtlMs, prefix }));
    },

    /** After a limit was raised: grant what is now free. */
    async refill(project: SlotProject): Promise<void> {
      if (!deps.enabled) return;
      const { projectId, limit, grantTtlMs } = request(project, '');
      await wake(await fillCaptureSlots(deps.db, { projectId, limit, grantTtlMs }));
    },
  };
}
