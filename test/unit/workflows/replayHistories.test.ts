// Determinism guard: recorded histories must replay against today's workflow
// bundle. A change that alters the command sequence fails here before it can
// break running workflows. (Fresh histories are recorded by
// test/workflows/replay.test.ts with RECORD_HISTORIES=<tag>.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_BUNDLE } from '../../../src/worker/worker';
import { repoRoot } from '../../../src/repoRoot';

const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'histories');

describe('recorded workflow histories', () => {
  it('replay against the current bundle', async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 3, 'the job, replay and entity histories are committed');
    for (const f of files) {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history, f).catch((err) => {
        throw new Error(`${f} no longer replays: ${(err as Error).message}`);
      });
    }
  });
});
