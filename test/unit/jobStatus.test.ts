// The job status state machine the job workflow follows (src/shared/jobStatus.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  announces,
  INITIAL_JOB_STATUS,
  InvalidJobTransition,
  isFinalJobStatus,
  JOB_TRANSITIONS,
  nextJobStatus,
  type JobTransition,
} from '../../src/shared/jobStatus';
import { JOB_STATUSES, type JobStatus } from '../../src/shared/names';

const transitions = Object.keys(JOB_TRANSITIONS) as JobTransition[];

/** Walks a path of transitions from the initial status, returning every status passed. */
function walk(path: JobTransition[]): JobStatus[] {
  const seen: JobStatus[] = [INITIAL_JOB_STATUS];
  for (const t of path) seen.push(nextJobStatus(seen[seen.length - 1] as JobStatus, t));
  return seen;
}

describe('job status transitions', () => {
  it('the table, written out: state × transition → state (— where there is no such step)', () => {
    const table = Object.fromEntries(
      JOB_STATUSES.map((from) => [
        from,
        Object.fromEntries(
          transitions.map((t) => [t, (JOB_TRANSITIONS[t].from as readonly JobStatus[]).includes(from) ? nextJobStatus(from, t) : '—']),
        ),
      ]),
    );
    // One row a status, as the table reads.
    // prettier-ignore
    assert.deepEqual(table, {
      queued: { slotGranted: 'running', captureStarted: 'running', captured: 'delivering', retryScheduled: '—', retryDue: '—', delivered: '—', deliveryFailed: '—', completed: 'done', captureFailed: 'failed', seriesBegun: 'delivering', startFailed: 'failed' },
      running: { slotGranted: '—', captureStarted: 'running', captured: 'delivering', retryScheduled: '—', retryDue: '—', delivered: '—', deliveryFailed: '—', completed: 'done', captureFailed: 'failed', seriesBegun: 'delivering', startFailed: '—' },
      delivering: { slotGranted: '—', captureStarted: '—', captured: '—', retryScheduled: 'retrying', retryDue: 'delivering', delivered: 'delivered', deliveryFailed: 'failed', completed: '—', captureFailed: '—', seriesBegun: 'delivering', startFailed: '—' },
      retrying: { slotGranted: '—', captureStarted: '—', captured: '—', retryScheduled: 'retrying', retryDue: 'delivering', delivered: 'delivered', deliveryFailed: 'failed', completed: '—', captureFailed: '—', seriesBegun: 'delivering', startFailed: '—' },
      delivered: { slotGranted: '—', captureStarted: '—', captured: '—', retryScheduled: '—', retryDue: '—', delivered: '—', deliveryFailed: '—', completed: '—', captureFailed: '—', seriesBegun: 'delivering', startFailed: '—' },
      done: { slotGranted: '—', captureStarted: '—', captured: '—', retryScheduled: '—', retryDue: '—', delivered: '—', deliveryFailed: '—', completed: '—', captureFailed: '—', seriesBegun: 'delivering', startFailed: '—' },
      failed: { slotGranted: '—', captureStarted: '—', captured: '—', retryScheduled: '—', retryDue: '—', delivered: '—', deliveryFailed: '—', completed: '—', captureFailed: '—', seriesBegun: 'delivering', startFailed: '—' },
    });
  });

  it('refuses a step the table does not have, naming both', () => {
    assert.throws(
      () => nextJobStatus('delivered', 'retryScheduled'),
      (err: unknown) => {
        assert.ok(err instanceof InvalidJobTransition);
        assert.equal(err.message, 'job status delivered has no transition retryScheduled');
        return true;
      },
    );
    assert.throws(() => nextJobStatus('running', 'startFailed'), InvalidJobTransition);
  });

  it('walks every path the job workflow takes', () => {
    // A plain scrape delivered after one retry.
    assert.deepEqual(walk(['captureStarted', 'captured', 'retryScheduled', 'retryDue', 'delivered']), [
      'queued',
      'running',
      'delivering',
      'retrying',
      'delivering',
      'delivered',
    ]);
    // A screenshot: the slot first, then the capture, then delivery that runs out.
    assert.deepEqual(walk(['slotGranted', 'captureStarted', 'captured', 'deliveryFailed']).at(-1), 'failed');
    // A capture that failed on the worker side still delivers (its error).
    assert.deepEqual(walk(['captured', 'delivered']), ['queued', 'delivering', 'delivered']);
    // Synchronous jobs end done or failed.
    assert.equal(walk(['captureStarted', 'completed']).at(-1), 'done');
    assert.equal(walk(['captureFailed']).at(-1), 'failed');
    // A replay of a closed job (its workflow starts again in queued), and one during the ladder.
    assert.deepEqual(walk(['seriesBegun', 'delivered']), ['queued', 'delivering', 'delivered']);
    assert.equal(walk(['captureStarted', 'captured', 'retryScheduled', 'seriesBegun', 'delivered', 'seriesBegun']).at(-1), 'delivering');
    // The submitter's own step when no workflow could be started.
    assert.equal(walk(['startFailed']).at(-1), 'failed');
  });

  it('every final status comes from a step that completes the row, and only from such a step', () => {
    for (const t of transitions) {
      const rule = JOB_TRANSITIONS[t];
      assert.equal(rule.completes === 'set', isFinalJobStatus(rule.to), t);
    }
    assert.equal(JOB_TRANSITIONS.seriesBegun.completes, 'clear');
  });

  it('delivery_status: pending again on a new series, set by the delivery end, nothing owed after a failed start', () => {
    assert.equal(JOB_TRANSITIONS.seriesBegun.delivery, 'pending');
    assert.equal(JOB_TRANSITIONS.delivered.delivery, 'delivered');
    assert.equal(JOB_TRANSITIONS.deliveryFailed.delivery, 'failed');
    assert.equal(JOB_TRANSITIONS.startFailed.delivery, 'none');
    // A synchronous job's end leaves it as it is (null).
    assert.equal(JOB_TRANSITIONS.completed.delivery, 'keep');
    assert.equal(JOB_TRANSITIONS.captureFailed.delivery, 'keep');
  });

  it('the Web UI shows queued, retrying and the ends, and a browser capture while it runs', () => {
    const shown = (job: { browserCapture: boolean }) => transitions.filter((t) => announces(t, job));
    assert.deepEqual(shown({ browserCapture: false }), [
      'slotGranted',
      'retryScheduled',
      'delivered',
      'deliveryFailed',
      'completed',
      'captureFailed',
    ]);
    assert.deepEqual(shown({ browserCapture: true }), [
      'slotGranted',
      'captured',
      'retryScheduled',
      'delivered',
      'deliveryFailed',
      'completed',
      'captureFailed',
    ]);
  });
});
