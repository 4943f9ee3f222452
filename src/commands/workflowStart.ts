// Starting a workflow whose id is fresh, when the caller has already written
// the row that workflow will read. Shared by JobSubmitter and CrawlSubmitter:
// both must tell "surely not started" (the row may be failed) from "maybe
// started" (the row must stay, a workflow may need it).
import {
  isGrpcServiceError,
  NamespaceNotFoundError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Logger } from '../logger';

export type StartOutcome =
  { state: 'started'; handle: WorkflowHandle } | { state: 'not-started'; error: unknown } | { state: 'unknown'; error: unknown };

// How a failed start call reads. The Temporal client itself retries some
// gRPC statuses (UNAVAILABLE, UNKNOWN, RESOURCE_EXHAUSTED, ABORTED, DATA_LOSS,
// OUT_OF_RANGE) before giving up, so the status it throws is only its last
// try's: after those, an earlier try may have landed, and trying again
// ourselves adds nothing. The statuses below it never retries: the server
// refused that one call without carrying it out.
const GRPC_REFUSED = new Set([
  3, // INVALID_ARGUMENT
  5, // NOT_FOUND
  7, // PERMISSION_DENIED
  9, // FAILED_PRECONDITION
  12, // UNIMPLEMENTED
  16, // UNAUTHENTICATED
]);
const GRPC_RETRIED_BY_CLIENT = new Set([2, 8, 10, 11, 14, 15]);

type StartFailure =
  /** The server refused the call: it did not land. */
  | 'refused'
  /** The client already retried: it may have landed, and retrying again is no use. */
  | 'unclear-retried'
  /** A deadline, a cancellation, an unknown fault: it may have landed; try again. */
  | 'unclear';

function classifyStartFailure(err: unknown): StartFailure {
  if (err instanceof NamespaceNotFoundError) return 'refused';
  const cause = err instanceof ServiceError ? err.cause : err;
  if (!isGrpcServiceError(cause)) return 'unclear';
  if (GRPC_REFUSED.has(cause.code)) return 'refused';
  return GRPC_RETRIED_BY_CLIENT.has(cause.code) ? 'unclear-retried' : 'unclear';
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const START_ATTEMPTS = 3;
export const START_RETRY_BASE_MS = 200;
export const START_PROBE_TIMEOUT_MS = 5_000;
// Longer than the client's own retries of an unreachable server (about 20 s),
// so an outage reads as UNAVAILABLE; short enough that a hung server is not waited on forever.
export const START_TIMEOUT_MS = 30_000;

/**
 * Starts `workflowType` under `options.workflowId`, which must be fresh and
 * started with REJECT_DUPLICATE: then a duplicate can only be an earlier try
 * of this very start, and an unclear start is safe to try again. When every
 * try is unclear, the server is asked whether one landed.
 */
export async function startFreshWorkflow(
  temporal: Client,
  logger: Logger,
  workflowType: string,
  options: WorkflowStartOptions,
  log: { what: string; fields: Record<string, unknown> },
): Promise<StartOutcome> {
  const { workflowId } = options;
  let mayHaveLanded = false;
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      const handle = await temporal.connection.withDeadline(Date.now() + START_TIMEOUT_MS, () => temporal.workflow.start(workflowType, options));
      return { state: 'started', handle };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return { state: 'started', handle: temporal.workflow.getHandle(workflowId) };
      }
      lastError = err;
      const failure = classifyStartFailure(err);
      if (failure === 'refused') break;
      mayHaveLanded = true;
      if (failure === 'unclear-retried') break;
      logger.warn({ ...log.fields, attempt, err: errorMessage(err) }, `${log.what} start unconfirmed; trying again`);
      if (attempt < START_ATTEMPTS) await sleep(START_RETRY_BASE_MS * attempt);
    }
  }
  if (!mayHaveLanded) return { state: 'not-started', error: lastError };
  // Every try has returned. Ask the server whether any of them landed: its
  // "not found" is an answer; failing to ask leaves it open.
  try {
    await temporal.connection.withDeadline(Date.now() + START_PROBE_TIMEOUT_MS, () => temporal.workflow.getHandle(workflowId).describe());
    return { state: 'started', handle: temporal.workflow.getHandle(workflowId) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { state: 'not-started', error: lastError };
    return { state: 'unknown', error: lastError };
  }
}
