// Fresh histories from a running Hookshot replay against the bundle, and
// RECORD_HISTORIES=<tag> writes them as fixtures for
// test/unit/workflows/replayHistories.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { createTemporalClient } from '../../src/temporal/client';
import { WORKFLOW_BUNDLE } from '../../src/worker/worker';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';
import { repoRoot } from '../../src/repoRoot';

const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'histories');

describe('workflow replay', () => {
  describe('a fresh history (retries, timers, search attributes)', () => {
    let hs: TestHookshot;
    let site: http.Server;
    before(async () => {
      site = http.createServer((_q, s) => s.end('page'));
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
      hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '20ms,20ms' });
    });
    after(async () => {
      await hs?.close();
      site?.closeAllConnections();
      await new Promise((r) => site?.close(r));
    });

    it('replays its own fresh history without nondeterminism', async () => {
      const receiver = await startReceiver((_r, i) => (i === 0 ? { status: 503 } : { status: 200 }));
      try {
        await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'replay', url: receiver.url } });
        const target = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
        const r = await hs.api(`/scrape?url=${encodeURIComponent(target)}&webhook_name=replay`, { key: hs.keys.live });
        assert.equal(r.status, 200);
        const client = await createTemporalClient(hs.temporalAddress, 'default');
        try {
          const handle = client.workflow.getHandle(`job:${r.body.job_uuid}`);
          assert.deepEqual(await handle.result(), { status: 'delivered', attempts: 2 });
          const history = await until(async () => {
            const h = await handle.fetchHistory();
            return h.events?.some((e) => e.workflowExecutionCompletedEventAttributes) ? h : undefined;
          });
          assert.ok(
            history.events!.some((e) => e.timerStartedEventAttributes),
            'the retry wait is a durable timer',
          );
          // History holds identifiers and summaries, not the page or the payload.
          assert.ok(!historyToJSON(history).includes('cGFnZQ'), 'scraped content never enters history');
          await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history);

          // A replay signal on the closed job (signal-with-start), then the entity's own history.
          const replay = await hs.api(`/jobs/${r.body.job_uuid}/replay`, { method: 'POST', key: hs.keys.live });
          assert.equal(replay.status, 202);
          await until(async () => (receiver.received.length === 3 ? true : undefined));
          const replayed = await until(async () => {
            const h = await client.workflow.getHandle(`job:${r.body.job_uuid}`).fetchHistory();
            return h.events?.some((e) => e.workflowExecutionCompletedEventAttributes) ? h : undefined;
          });
          const webhookUuid = (await hs.api('/webhooks/replay', { key: hs.keys.live })).body.uuid;
          const entity = await client.workflow.getHandle(`webhook:${webhookUuid}`).fetchHistory();
          assert.ok(entity.events!.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'attemptOutcomes'));
          await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, replayed);
          await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, entity);
          // RECORD_HISTORIES=<tag> adds fixtures of the current shape. Until the
          // first release, fixtures are simply re-recorded; after it, older ones
          // stay, so every shape a running workflow may have keeps replaying.
          const tag = process.env.RECORD_HISTORIES;
          if (tag) {
            writeFileSync(path.join(FIXTURES, `job-retry-then-delivered-${tag}.json`), historyToJSON(history));
            writeFileSync(path.join(FIXTURES, `job-replayed-after-close-${tag}.json`), historyToJSON(replayed));
            writeFileSync(path.join(FIXTURES, `webhook-entity-${tag}.json`), historyToJSON(entity));
          }
        } finally {
          await client.connection.close();
        }
      } finally {
        await receiver.close();
      }
    });

    it('replays the history of a screenshot that waited in line for a capture slot', async () => {
      const receiver = await startReceiver();
      const client = await createTemporalClient(hs.temporalAddress, 'default');
      try {
        await hs.api('/admin/projects/default', { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { concurrency: 1 } });
        await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'shots', url: receiver.url } });
        const target = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
        const first = await hs.api(`/screenshot?url=${encodeURIComponent(target)}&webhook_name=shots&rendering_wait=300`, { key: hs.keys.live });
        const second = await hs.api(`/screenshot?url=${encodeURIComponent(target)}&webhook_name=shots`, { key: hs.keys.live });
        assert.equal(second.status, 200, JSON.stringify(second.body));
        const handle = client.workflow.getHandle(`job:${second.body.job_uuid}`);
        assert.deepEqual(await handle.result(), { status: 'delivered', attempts: 1 });
        await client.workflow.getHandle(`job:${first.body.job_uuid}`).result();
        const history = await handle.fetchHistory();
        const signals = history
          .events!.filter((e) => e.workflowExecutionSignaledEventAttributes)
          .map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
        assert.ok(signals.includes('slotGranted'), `the second screenshot waited for the first: ${signals.join(',')}`);
        await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history);
        const tag = process.env.RECORD_HISTORIES;
        if (tag) writeFileSync(path.join(FIXTURES, `job-screenshot-waited-for-slot-${tag}.json`), historyToJSON(history));
      } finally {
        await client.connection.close();
        await receiver.close();
      }
    });
  });
});
