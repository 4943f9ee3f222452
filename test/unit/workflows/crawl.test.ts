// The crawl, its events and an event's retries as workflows, on a real dev
// server with activities written here (an in-memory frontier and receiver):
// the concurrency window, continue-as-new, cancel, the slot line, event order
// and the retry ladder's hand-over.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type {
  CrawlEventsWorkflowInput,
  CrawlPageOutcome,
  CrawlWorkflowInput,
  EventAttemptInput,
  EventAttemptOutcome,
} from '../../../src/shared/contracts/crawl';
import { crawlEventsWorkflowId, crawlWorkflowId, eventDeliveryWorkflowId } from '../../../src/shared/names';
import { cancelCrawlSignal, eventsAppendedSignal, slotGrantedSignal } from '../../../src/shared/workflowApi';
import { createWorkflowEnv, withWorker } from '../../helpers/workflowEnv';
import { until } from '../../helpers/wait';

const whenTrue = (cond: () => boolean, ms: number) => until(async () => (cond() ? true : undefined), ms, 20);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A site as a graph: page n links to the pages in links[n]; the frontier and counters live here. */
function fakeCrawl(links: Record<number, number[]>, o: { fetchMs?: number; queueFirst?: Set<number> } = {}) {
  const pages = new Map<number, 'pending' | 'running' | 'done'>([[0, 'pending']]);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const claims: number[][] = [];
  const queuedOnce = new Set<number>();
  let ended = 0;
  const endInputs: unknown[] = [];
  /** When each fetch began and ended (Date.now()), in order. */
  const fetches: Array<{ start: number; end: number }> = [];
  const activities = {
    async seedCrawl() {},
    async claimCrawlPages(i: { max: number; inFlight: number[] }) {
      const ids = [...pages]
        .filter(([, s]) => s === 'pending')
        .map(([id]) => id)
        .sort((a, b) => a - b)
        .slice(0, i.max);
      for (const id of ids) pages.set(id, 'running');
      claims.push(ids);
      return ids;
    },
    async crawlPage(i: { pageId: number }): Promise<CrawlPageOutcome> {
      if (o.queueFirst?.has(i.pageId) && !queuedOnce.has(i.pageId)) {
        queuedOnce.add(i.pageId);
        return { queued: true, eventSeq: null };
      }
      running++;
      peak = Math.max(peak, running);
      const start = Date.now();
      await sleep(o.fetchMs ?? 5);
      fetches.push({ start, end: Date.now() });
      running--;
      order.push(i.pageId);
      pages.set(i.pageId, 'done');
      for (const l of links[i.pageId] ?? []) if (!pages.has(l)) pages.set(l, 'pending');
      return { queued: false, eventSeq: null };
    },
    async failCrawlPage() {},
    async endCrawl(input: unknown) {
      ended++;
      endInputs.push(input);
      return [...pages.values()].some((s) => s === 'pending') ? 'cancelled' : 'completed';
    },
  };
  return { activities, order, claims, peak: () => peak, ended: () => ended, endInputs, fetches, pages };
}

const crawlInput = (o: Partial<CrawlWorkflowInput> = {}): CrawlWorkflowInput => ({
  crawlId: randomUUID(),
  kind: 'crawl',
  pageConcurrency: 3,
  pagesPerRun: 500,
  captureTimeoutMs: 10_000,
  slotRecheckMs: 60_000,
  ...o,
});

/** A tree of n pages: page k links to 2k+1 and 2k+2 (and back to 0, a cycle). */
const tree = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, k) => [k, [2 * k + 1, 2 * k + 2, 0].filter((x) => x < n)]));

describe('crawlWorkflow', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await createWorkflowEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  it('fetches every page once, never more than pageConcurrency at a time', async () => {
    const f = fakeCrawl(tree(40));
    await withWorker(env, f.activities, async (taskQueue) => {
      const r = await env.client.workflow.execute('crawlWorkflow', { taskQueue, workflowId: crawlWorkflowId(randomUUID()), args: [crawlInput()] });
      assert.equal(r.status, 'completed');
    });
    assert.deepEqual(
      [...f.order].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, k) => k),
    );
    assert.ok(f.peak() <= 3, `peak ${f.peak()}`);
    assert.ok(f.peak() >= 2, `the window was used: peak ${f.peak()}`);
    assert.equal(f.ended(), 1);
  });

  it('continues as new every pagesPerRun pages, carrying nothing but counters', async () => {
    const f = fakeCrawl(tree(35));
    const id = crawlWorkflowId(randomUUID());
    await withWorker(env, f.activities, async (taskQueue) => {
      await env.client.workflow.execute('crawlWorkflow', { taskQueue, workflowId: id, args: [crawlInput({ pagesPerRun: 10 })] });
    });
    assert.equal(f.order.length, 35);
    // Runs: the first one and every later one continued as new.
    let runs = 0;
    for await (const _ of env.client.workflow.list({ query: `WorkflowId = "${id}"` })) runs++;
    assert.ok(runs >= 4, `${runs} runs`);
    assert.equal(f.ended(), 1);
  });

  it('a cancel stops new fetches at once and still ends the crawl', async () => {
    const f = fakeCrawl(tree(200), { fetchMs: 40 });
    await withWorker(env, f.activities, async (taskQueue) => {
      const h = await env.client.workflow.start('crawlWorkflow', {
        taskQueue,
        workflowId: crawlWorkflowId(randomUUID()),
        args: [crawlInput({ pageConcurrency: 2 })],
      });
      await whenTrue(() => f.order.length >= 4, 10_000);
      await h.signal(cancelCrawlSignal);
      const at = f.order.length;
      const r = await h.result();
      assert.equal(r.status, 'cancelled');
      // Only the pages already in flight finished after the cancel.
      assert.ok(f.order.length <= at + 2, `${f.order.length - at} pages after the cancel`);
    });
    assert.equal(f.ended(), 1);
  });

  it('a page told to wait for a capture slot runs when the slot is granted', async () => {
    const f = fakeCrawl({ 0: [1, 2] }, { queueFirst: new Set([1]) });
    await withWorker(env, f.activities, async (taskQueue) => {
      const h = await env.client.workflow.start('crawlWorkflow', { taskQueue, workflowId: crawlWorkflowId(randomUUID()), args: [crawlInput()] });
      await whenTrue(() => f.order.includes(2), 10_000);
      await sleep(200);
      assert.ok(!f.order.includes(1), 'page 1 waits in line');
      await h.signal(slotGrantedSignal);
      assert.equal((await h.result()).status, 'completed');
    });
    assert.deepEqual([...f.order].sort(), [0, 1, 2]);
  });

  /** The timers a workflow run started, and its input. */
  const historyOf = async (workflowId: string, runId?: string) => {
    const h = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = h.events ?? [];
    return {
      timers: events.filter((e) => e.timerStartedEventAttributes).length,
      continued: events.find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes,
    };
  };

  it('without maxDurationMs and delayMs: no timer, and endCrawl is asked as before', async () => {
    const f = fakeCrawl(tree(8));
    const crawlId = randomUUID();
    const id = crawlWorkflowId(crawlId);
    await withWorker(env, f.activities, (taskQueue) =>
      env.client.workflow.execute('crawlWorkflow', { taskQueue, workflowId: id, args: [crawlInput({ crawlId })] }),
    );
    assert.equal((await historyOf(id)).timers, 0);
    assert.deepEqual(f.endInputs, [{ crawlId }]);
  });

  it('maxDurationMs: no page is claimed once the time is up, the start carried across continue-as-new', async () => {
    const f = fakeCrawl(tree(300), { fetchMs: 20 });
    const crawlId = randomUUID();
    const id = crawlWorkflowId(crawlId);
    const firstRun = await withWorker(env, f.activities, async (taskQueue) => {
      const h = await env.client.workflow.start('crawlWorkflow', {
        taskQueue,
        workflowId: id,
        args: [crawlInput({ crawlId, pageConcurrency: 2, pagesPerRun: 2, maxDurationMs: 2000 })],
      });
      await h.result();
      return h.firstExecutionRunId;
    });
    // At 20 ms a page, two at a time, 300 pages take at least 3 s, more than the 2 s bound: the time bound ended it.
    assert.deepEqual(f.endInputs, [{ crawlId, timedOut: true }]);
    assert.ok(f.order.length > 2 && f.order.length < 300, `${f.order.length} pages`);
    // Every run handed on the same start time: the bound counts from the first run.
    const starts: unknown[] = [];
    for (let runId: string | null | undefined = firstRun; runId;) {
      const { continued }: Awaited<ReturnType<typeof historyOf>> = await historyOf(id, runId);
      const input = continued?.input?.payloads?.[0]?.data;
      if (input) starts.push((JSON.parse(Buffer.from(input).toString()) as CrawlWorkflowInput).carried?.startedAtMs);
      runId = continued?.newExecutionRunId;
    }
    assert.ok(starts.length >= 2, `${starts.length} continue-as-new`);
    assert.equal(new Set(starts).size, 1, `one start time: ${starts.join(', ')}`);
    assert.equal(typeof starts[0], 'number');
  });

  it('maxDurationMs: a page waiting in line for a slot gives up at the deadline', async () => {
    const f = fakeCrawl({ 0: [1] }, { queueFirst: new Set([1]) });
    const crawlId = randomUUID();
    await withWorker(env, f.activities, (taskQueue) =>
      env.client.workflow.execute('crawlWorkflow', {
        taskQueue,
        workflowId: crawlWorkflowId(crawlId),
        // Without the deadline it would wait a minute for its recheck.
        args: [crawlInput({ crawlId, maxDurationMs: 500, slotRecheckMs: 60_000 })],
      }),
    );
    assert.deepEqual(f.order, [0]);
    assert.deepEqual(f.endInputs, [{ crawlId, timedOut: true }]);
  });

  it('delayMs: a durable timer between one fetch and the next, one page at a time', async () => {
    const f = fakeCrawl(tree(6), { fetchMs: 5 });
    const id = crawlWorkflowId(randomUUID());
    await withWorker(env, f.activities, (taskQueue) =>
      env.client.workflow.execute('crawlWorkflow', { taskQueue, workflowId: id, args: [crawlInput({ pageConcurrency: 1, delayMs: 150 })] }),
    );
    assert.equal(f.order.length, 6);
    assert.equal(f.peak(), 1);
    // Each fetch began at least the delay after the one before it ended (a lower bound, not a timing).
    for (let i = 1; i < f.fetches.length; i++) {
      const gap = f.fetches[i]!.start - f.fetches[i - 1]!.end;
      assert.ok(gap >= 150, `gap ${gap} ms before fetch ${i}`);
    }
    assert.equal((await historyOf(id)).timers, 5, 'none before the first fetch');
  });
});

/** Stored events and a receiver: `answer` decides each attempt. */
function fakeEvents(names: string[], answer: (i: EventAttemptInput, seq: number) => EventAttemptOutcome, o: { sendMs?: number } = {}) {
  const events = names.map((event, seq) => ({ id: randomUUID(), seq, event, first_done: false }));
  const log: Array<{ seq: number; attempt: number; phase: 'start' | 'end' }> = [];
  let running = 0;
  let peak = 0;
  const retriesStarted: string[] = [];
  let visible = names.length;
  const activities = {
    async lastEventSeq() {
      return visible - 1;
    },
    async listCrawlEvents(i: { fromSeq: number; limit: number }) {
      return events.slice(i.fromSeq, Math.min(visible, i.fromSeq + i.limit)).map((e) => ({ ...e }));
    },
    async deliverEvent(i: EventAttemptInput): Promise<EventAttemptOutcome> {
      const e = events.find((x) => x.id === i.eventId)!;
      running++;
      peak = Math.max(peak, running);
      log.push({ seq: e.seq, attempt: i.attempt, phase: 'start' });
      await sleep(o.sendMs ?? 5);
      log.push({ seq: e.seq, attempt: i.attempt, phase: 'end' });
      running--;
      const out = answer(i, e.seq);
      if (i.attempt === 1) e.first_done = true;
      if (!out.success && i.willRetry && i.startRetries) {
        retriesStarted.push(e.id);
        await env!.client.workflow.start('eventDeliveryWorkflow', {
          taskQueue: currentQueue!,
          workflowId: eventDeliveryWorkflowId(e.id),
          args: [{ eventId: e.id, ...i.startRetries, failedAttempt: 1, retryAfterMs: out.retryAfterMs }],
        });
      }
      return out;
    },
  };
  let env: TestWorkflowEnvironment | undefined;
  let currentQueue: string | undefined;
  return {
    activities,
    events,
    log,
    retriesStarted,
    peak: () => peak,
    bind: (e: TestWorkflowEnvironment, q: string) => ((env = e), (currentQueue = q)),
    reveal: (n: number) => (visible = n),
  };
}

const ok: EventAttemptOutcome = { success: true, statusCode: 200, errorCode: null, retryAfterMs: null };
const failed: EventAttemptOutcome = { success: false, statusCode: 500, errorCode: 'ERR::WEBHOOK::ENDPOINT_ERROR', retryAfterMs: null };

const eventsInput = (o: Partial<CrawlEventsWorkflowInput> = {}): CrawlEventsWorkflowInput => ({
  crawlId: randomUUID(),
  concurrency: 4,
  eventsPerRun: 500,
  retryScheduleMs: [20, 20],
  retryJitter: 0,
  deliveryTimeoutMs: 5_000,
  ...o,
});

describe('crawlEventsWorkflow and eventDeliveryWorkflow', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await createWorkflowEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  const names = (pages: number) => ['crawl.started', ...Array.from({ length: pages }, () => 'crawl.page'), 'crawl.completed'];

  it('started first, pages at most `concurrency` at once, the terminal event after every page event', async () => {
    const f = fakeEvents(names(20), () => ok, { sendMs: 15 });
    await withWorker(env, f.activities, async (taskQueue) => {
      f.bind(env, taskQueue);
      const input = eventsInput();
      await env.client.workflow.execute('crawlEventsWorkflow', { taskQueue, workflowId: crawlEventsWorkflowId(input.crawlId), args: [input] });
    });
    const startedEnd = f.log.findIndex((l) => l.seq === 0 && l.phase === 'end');
    const firstPageStart = f.log.findIndex((l) => l.seq > 0 && l.phase === 'start');
    assert.ok(startedEnd < firstPageStart, 'started finished before any page was sent');
    const terminalStart = f.log.findIndex((l) => l.seq === 21 && l.phase === 'start');
    const lastPageEnd = f.log.map((l, i) => (l.seq > 0 && l.seq < 21 && l.phase === 'end' ? i : -1)).reduce((a, b) => Math.max(a, b));
    assert.ok(lastPageEnd < terminalStart, 'the terminal event went after every page event');
    assert.ok(f.peak() <= 4 && f.peak() >= 2, `peak ${f.peak()}`);
  });

  // Scrapfly's names: crawler_started is an ordering point, each of the three terminal names ends the workflow.
  for (const terminal of ['crawler_finished', 'crawler_stopped', 'crawler_cancelled']) {
    it(`Scrapfly crawler events: crawler_started first, URL events between, ${terminal} last and the end`, async () => {
      const middle = ['crawler_url_visited', 'crawler_url_discovered', 'crawler_url_skipped', 'crawler_url_failed'];
      const list = ['crawler_started', ...Array.from({ length: 12 }, (_, i) => middle[i % middle.length]!), terminal];
      const f = fakeEvents(list, () => ok, { sendMs: 15 });
      await withWorker(env, f.activities, async (taskQueue) => {
        f.bind(env, taskQueue);
        const input = eventsInput();
        const out = await env.client.workflow.execute('crawlEventsWorkflow', {
          taskQueue,
          workflowId: crawlEventsWorkflowId(input.crawlId),
          args: [input],
        });
        assert.equal(out.sent, list.length, 'the terminal event ends the workflow');
      });
      const last = list.length - 1;
      const startedEnd = f.log.findIndex((l) => l.seq === 0 && l.phase === 'end');
      const firstOtherStart = f.log.findIndex((l) => l.seq > 0 && l.phase === 'start');
      assert.ok(startedEnd < firstOtherStart, 'crawler_started finished before any other event was sent');
      const terminalStart = f.log.findIndex((l) => l.seq === last && l.phase === 'start');
      const lastMiddleEnd = f.log.map((l, i) => (l.seq > 0 && l.seq < last && l.phase === 'end' ? i : -1)).reduce((a, b) => Math.max(a, b));
      assert.ok(lastMiddleEnd < terminalStart, `${terminal} went after every URL event`);
      assert.ok(f.peak() >= 2, 'URL events go out concurrently');
    });
  }

  it('a failed first attempt hands the event to its own ladder; later events do not wait for it', async () => {
    const attempts = new Map<number, number>();
    const f = fakeEvents(names(3), (i, seq) => {
      attempts.set(seq, i.attempt);
      return seq === 1 && i.attempt < 3 ? failed : ok;
    });
    await withWorker(env, f.activities, async (taskQueue) => {
      f.bind(env, taskQueue);
      const input = eventsInput({ retryScheduleMs: [300, 300] });
      await env.client.workflow.execute('crawlEventsWorkflow', { taskQueue, workflowId: crawlEventsWorkflowId(input.crawlId), args: [input] });
      // The terminal event was sent before page 1's second attempt (its ladder waits 300 ms).
      const terminal = f.log.findIndex((l) => l.seq === 4);
      assert.ok(!f.log.slice(0, terminal).some((l) => l.seq === 1 && l.attempt === 2));
      const r = await env.client.workflow.getHandle(eventDeliveryWorkflowId(f.events[1]!.id)).result();
      assert.deepEqual(r, { delivered: true, attempts: 3 });
    });
    assert.equal(f.retriesStarted.length, 1);
    assert.equal(attempts.get(1), 3);
  });

  it('waits for events not stored yet, and continues as new without sending any twice', async () => {
    const f = fakeEvents(names(30), () => ok);
    f.reveal(5);
    await withWorker(env, f.activities, async (taskQueue) => {
      f.bind(env, taskQueue);
      const input = eventsInput({ eventsPerRun: 8 });
      const id = crawlEventsWorkflowId(input.crawlId);
      const h = await env.client.workflow.start('crawlEventsWorkflow', { taskQueue, workflowId: id, args: [input] });
      await whenTrue(() => f.log.filter((l) => l.phase === 'end').length >= 5, 10_000);
      f.reveal(32);
      await h.signal(eventsAppendedSignal, { upTo: 31 });
      await env.client.workflow.getHandle(id).result();
    });
    const firsts = f.log.filter((l) => l.phase === 'start').map((l) => l.seq);
    assert.deepEqual(
      [...firsts].sort((a, b) => a - b),
      Array.from({ length: 32 }, (_, k) => k),
    );
  });
});
