// The full Temporal server on PostgreSQL, as TEMPORAL_STORE=postgres runs it,
// on fresh databases of the machine's PostgreSQL (dropped at the end).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPostgresTemporal } from '../src/temporalServer/postgresServer';
import { resolveTemporalTools } from '../src/temporalServer/process';
import type { Topology } from './engine';

export async function postgresTopology(port: number, adminUrl: string): Promise<Topology> {
  const tools = await resolveTemporalTools();
  const name = `temporal_bench_${randomBytes(3).toString('hex')}`;
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-bench-pg-'));
  const server = await startPostgresTemporal({ tools, databaseUrl, port, uiPort: port + 9, namespace: 'default', dataDir, headless: true });
  return {
    name: 'postgres',
    describe: "Temporal server 1.31.2 on PostgreSQL 15 (the machine's)",
    address: server.address,
    async stop() {
      await server.stop();
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      for (const db of [server.databases.main, server.databases.visibility]) await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
