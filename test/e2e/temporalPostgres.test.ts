// TEMPORAL_STORE=postgres: Hookshot builds (or takes from the cache) the
// pinned server, SQL tool and UI server, creates Temporal's databases on the
// real PostgreSQL, applies the schema and supervises both processes. Started
// through the runtime (as `npm start` does) and as a real `node
// dist/src/main.js` child for the crash and Ctrl-C cases.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { startHookshot, type Hookshot } from '../../src/runtime';
import { createTemporalClient } from '../../src/temporal/client';
import { alive } from '../../src/temporalServer/process';
import { NUM_HISTORY_SHARDS, PORTS_USED } from '../../src/temporalServer/postgresServer';
import { jobWorkflowId, SEARCH_ATTRIBUTES } from '../../src/shared/names';
import { repoRoot } from '../../src/repoRoot';
import { freshDatabase, testEnv, type TestDatabase } from '../helpers/env';
import { freePort, freePortRange, listeningSockets } from '../helpers/net';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';
import { captureLogs } from '../helpers/logCapture';

const capture = captureLogs;

const find = (lines: any[], msg: string) => lines.find((l) => l.msg === msg);
const pidOf = (file: string) => Number(readFileSync(file, 'utf8').trim());

/** A fresh Hookshot database, a fresh Temporal database name (both under the run's prefix), ports, DATA_DIR. */
async function setup() {
  const { adminDbUrl, dbPrefix } = testEnv();
  const hookshotDb: TestDatabase = await freshDatabase();
  const temporalDb = `${dbPrefix}tpg_${randomBytes(4).toString('hex')}`;
  const u = new URL(adminDbUrl);
  u.pathname = `/${temporalDb}`;
  const temporalPort = await freePortRange(PORTS_USED);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-pgtemporal-'));
  const env = {
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: hookshotDb.url,
    TEMPORAL_STORE: 'postgres',
    TEMPORAL_DATABASE_URL: u.toString(),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_TASK_QUEUE: `pgtemporal-${temporalPort}`,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
    SHUTDOWN_GRACE_MS: '2000',
  };
  const dir = path.join(dataDir, 'temporal-postgres');
  return {
    env,
    temporalDb,
    temporalPort,
    files: { serverPid: path.join(dir, 'server.pid'), uiPid: path.join(dir, 'ui.pid'), serverYaml: path.join(dir, 'server.yaml') },
    async cleanup() {
      await hookshotDb.drop();
      const c = new pg.Client({ connectionString: adminDbUrl });
      await c.connect();
      for (const name of [temporalDb, `${temporalDb}_visibility`]) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startSite() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body><h1>on postgres</h1></body></html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function api(hs: Hookshot, p: string, key: string, init: { method?: string; json?: unknown } = {}) {
  const u = new URL(p, hs.apiUrl!);
  u.searchParams.set('key', key);
  const res = await fetch(u, {
    method: init.method ?? 'GET',
    headers: init.json ? { 'content-type': 'application/json' } : {},
    body: init.json ? JSON.stringify(init.json) : undefined,
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

describe('TEMPORAL_STORE=postgres (the full Temporal server and its UI on PostgreSQL)', () => {
  let site: Awaited<ReturnType<typeof startSite>>;
  before(async () => {
    site = await startSite();
  });
  after(async () => {
    await site?.close();
  });

  it('first start creates the databases, schema, namespace and search attributes; a job is delivered; a restart reuses it all', async () => {
    const s = await setup();
    const receiver = await startReceiver();
    try {
      const first = capture();
      let t0 = Date.now();
      let hs = await startHookshot(loadConfig(s.env), first.logger);
      const firstStartMs = Date.now() - t0;
      let jobUuid: string;
      let historyLength: number;
      const serverPid = pidOf(s.files.serverPid);
      const uiPid = pidOf(s.files.uiPid);
      try {
        assert.equal(hs.temporalAddress, `127.0.0.1:${s.temporalPort}`);
        const started = find(first.lines, 'Temporal server on PostgreSQL started');
        assert.ok(started, 'the runtime logs the address and the UI URL');
        assert.equal(started.ui, hs.temporalUiUrl);
        assert.deepEqual(started.databases, { main: s.temporalDb, visibility: `${s.temporalDb}_visibility` });
        const schemaLines = first.lines.filter((l) => l.msg === 'Temporal schema applied');
        assert.deepEqual(schemaLines.map((l) => [l.database, l.from]).sort(), [
          [s.temporalDb, 'none'],
          [`${s.temporalDb}_visibility`, 'none'],
        ]);
        assert.ok(find(first.lines, 'Temporal namespace registered'));
        assert.deepEqual(find(first.lines, 'Temporal search attributes registered').added.sort(), Object.values(SEARCH_ATTRIBUTES).sort());

        // The server listens on loopback only, within TEMPORAL_PORT..+7.
        const sockets = listeningSockets(pidOf(s.files.serverPid));
        assert.ok(
          sockets.some((x) => x.port === s.temporalPort),
          JSON.stringify(sockets),
        );
        for (const x of sockets) {
          assert.equal(x.address, '127.0.0.1', JSON.stringify(sockets));
          assert.ok(x.port >= s.temporalPort && x.port < s.temporalPort + PORTS_USED, `port ${x.port} outside the range: ${JSON.stringify(sockets)}`);
        }
        assert.ok(readFileSync(s.files.serverYaml, 'utf8').includes(`numHistoryShards: ${NUM_HISTORY_SHARDS}`));

        const conn = await Connection.connect({ address: hs.temporalAddress });
        try {
          const ns = await conn.workflowService.describeNamespace({ namespace: 'default' });
          assert.equal(Number(ns.config?.workflowExecutionRetentionTtl?.seconds), 72 * 3600);
          const sa = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
          for (const name of Object.values(SEARCH_ATTRIBUTES)) assert.equal(sa.customAttributes?.[name], 2, `${name} is Keyword`);
        } finally {
          await conn.close();
        }

        // The UI is the real one, talking to this frontend.
        const ui = await fetch(hs.temporalUiUrl!);
        assert.equal(ui.status, 200);
        assert.match(await ui.text(), /<html/i);
        const namespaces = await until(
          async () => {
            const r = await fetch(`${hs.temporalUiUrl}/api/v1/namespaces`);
            return r.status === 200 ? ((await r.json()) as any) : undefined;
          },
          30_000,
          500,
        );
        assert.ok(namespaces.namespaces.some((n: any) => n.namespaceInfo.name === 'default'));

        const key = first.lines.find((l) => l.msg?.startsWith('default project created')).live_api_key;
        const w = await api(hs, '/webhooks', key, { method: 'POST', json: { name: 'pg-hook', url: receiver.url } });
        assert.equal(w.status, 201, JSON.stringify(w.body));
        const job = await api(hs, `/scrape?url=${encodeURIComponent(site.url)}&webhook_name=pg-hook`, key);
        assert.equal(job.status, 200, JSON.stringify(job.body));
        jobUuid = job.body.job_uuid;
        const done = await until(
          async () => {
            const j = await api(hs, `/jobs/${jobUuid}`, key);
            return j.body.status === 'delivered' || j.body.status === 'failed' ? j.body : undefined;
          },
          60_000,
          200,
        );
        assert.equal(done.status, 'delivered', JSON.stringify(done));
        await receiver.waitFor(1);
        assert.match(receiver.received[0]!.body.toString(), /on postgres/);

        const client = await createTemporalClient(hs.temporalAddress, 'default');
        try {
          historyLength = (await client.workflow.getHandle(jobWorkflowId(jobUuid)).fetchHistory()).events?.length ?? 0;
          assert.ok(historyLength > 0);
          // Search attributes work on SQL visibility.
          const listed = await until(
            async () => {
              const ids: string[] = [];
              for await (const wf of client.workflow.list({ query: `WebhookName = 'pg-hook'` })) ids.push(wf.workflowId);
              return ids.includes(jobWorkflowId(jobUuid)) ? ids : undefined;
            },
            30_000,
            500,
          );
          assert.ok(listed.length >= 1);
        } finally {
          await client.connection.close();
        }
      } finally {
        await hs.stop();
      }
      assert.ok(!alive(serverPid) && !alive(uiPid), 'stop() ends the server and the UI');
      assert.ok(!existsSync(s.files.serverPid) && !existsSync(s.files.uiPid), 'a clean stop removes the pid files');

      const second = capture();
      t0 = Date.now();
      hs = await startHookshot(loadConfig(s.env), second.logger);
      const secondStartMs = Date.now() - t0;
      try {
        assert.equal(find(second.lines, 'Temporal schema applied'), undefined, 'the schema is current: nothing applied');
        assert.equal(find(second.lines, 'Temporal namespace registered'), undefined);
        assert.equal(find(second.lines, 'Temporal search attributes registered'), undefined);
        const client = await createTemporalClient(hs.temporalAddress, 'default');
        try {
          const handle = client.workflow.getHandle(jobWorkflowId(jobUuid));
          assert.equal((await handle.fetchHistory()).events?.length, historyLength, "the job's workflow history survived the restart");
        } finally {
          await client.connection.close();
        }
        assert.equal((await fetch(hs.temporalUiUrl!)).status, 200);
      } finally {
        await hs.stop();
      }
      console.log(`# TEMPORAL_STORE=postgres start: first (databases + schema + namespace) ${firstStartMs} ms, second ${secondStartMs} ms`);
    } finally {
      await receiver.close();
      await s.cleanup();
    }
  });

  it('a server and UI orphaned by a SIGKILLed Hookshot are stopped by the next start; Ctrl-C stops both', async () => {
    const s = await setup();
    const main = path.join(repoRoot(), 'dist', 'src', 'main.js');
    // `npm start` as a terminal runs it: its own process group, so a signal to the group is Ctrl-C.
    const startMain = async () => {
      const child = spawn(process.execPath, [main], {
        env: { ...process.env, ...s.env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      await until(
        async () => {
          if (child.exitCode !== null) throw new Error(`hookshot exited early:\n${out}`);
          return out.includes('Temporal server on PostgreSQL started') && out.includes('API listening') ? true : undefined;
        },
        240_000,
        200,
      );
      return { child, exited, out: () => out };
    };
    try {
      const crashed = await startMain();
      const orphanServer = pidOf(s.files.serverPid);
      const orphanUi = pidOf(s.files.uiPid);
      crashed.child.kill('SIGKILL');
      await crashed.exited;
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(alive(orphanServer), 'the server outlives a SIGKILLed Hookshot (own process group)');
      assert.ok(alive(orphanUi), 'so does the UI');

      const hs = await startHookshot(loadConfig(s.env), capture().logger);
      try {
        assert.ok(!alive(orphanServer), 'the orphaned server was stopped');
        assert.ok(!alive(orphanUi), 'the orphaned UI was stopped');
        assert.notEqual(pidOf(s.files.serverPid), orphanServer);
        const conn = await Connection.connect({ address: hs.temporalAddress });
        await conn.workflowService.getSystemInfo({});
        await conn.close();
      } finally {
        await hs.stop();
      }

      const run = await startMain();
      const server = pidOf(s.files.serverPid);
      const ui = pidOf(s.files.uiPid);
      process.kill(-run.child.pid!, 'SIGINT');
      const code = await run.exited;
      assert.equal(code, 0, run.out());
      assert.ok(!alive(server) && !alive(ui), 'Ctrl-C stops the server and the UI with Hookshot');
      assert.ok(!existsSync(s.files.serverPid) && !existsSync(s.files.uiPid));
    } finally {
      await s.cleanup();
    }
  });
});
