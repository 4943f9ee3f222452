import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { startHookshot } from '../../src/runtime';
import { freePort } from '../helpers/net';
import { testEnv } from '../helpers/env';
import { captureLogs } from '../helpers/logCapture';

const capture = captureLogs;

describe('npm start with no configuration (embedded defaults)', () => {
  it('starts PGlite and the Temporal dev server under DATA_DIR, prints keys once, reuses data on restart', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-data-'));
    const temporalPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(await freePort()),
      TEMPORAL_CLI: testEnv().cliPath ?? '',
      TEMPORAL_TASK_QUEUE: `embedded-${temporalPort}`,
    };
    try {
      const first = capture();
      let hs = await startHookshot(loadConfig(env), first.logger);
      let key: string;
      try {
        assert.equal(hs.temporalAddress, `127.0.0.1:${temporalPort}`);
        assert.ok(existsSync(path.join(dataDir, 'temporal.db')), 'Temporal keeps its SQLite file in DATA_DIR');
        assert.ok(existsSync(path.join(dataDir, 'pglite')), 'PGlite keeps its files in DATA_DIR');
        const printed = first.lines.find((l) => l.msg?.startsWith('default project created'));
        assert.ok(printed, 'the default keys are printed on first start');
        assert.match(printed.test_api_key, /^hs_test_/);
        assert.match(printed.live_api_key, /^hs_live_/);
        key = printed.live_api_key;
        const health = await fetch(`${hs.apiUrl}/healthz`);
        assert.equal(health.status, 200);
        const w = await fetch(`${hs.apiUrl}/webhooks?key=${key}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'kept', url: 'https://example.com/hook' }),
        });
        assert.equal(w.status, 201);
        // The UI is served next to the frontend.
        const ui = await fetch(hs.temporalUiUrl!);
        assert.equal(ui.status, 200);
      } finally {
        await hs.stop();
      }

      const second = capture();
      hs = await startHookshot(loadConfig(env), second.logger);
      try {
        assert.equal(
          second.lines.find((l) => l.msg?.startsWith('default project created')),
          undefined,
          'keys are printed only once',
        );
        const w = await fetch(`${hs.apiUrl}/webhooks/kept?key=${key}`);
        assert.equal(w.status, 200, 'the same key and webhook survive a restart');
      } finally {
        await hs.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
