import type { Client } from '@temporalio/client';
import type { Scope } from '../../src/commands/scope';
import type { Config } from '../../src/config';
import type { Db } from '../../src/db/pool';
import { createProject, getProjectByName } from '../../src/db/repositories/projects';
import { createWebhook } from '../../src/db/repositories/webhooks';
import type { Webhook } from '../../src/db/rows';
import { createLogger, type Logger } from '../../src/logger';
import { createTemporalClient } from '../../src/temporal/client';
import { startTestHookshot, type TestHookshot } from './hookshot';

/**
 * What a command test calls a command with: the service running in this
 * process (its worker runs the job and webhook workflows) on a fresh
 * database and the run's Temporal dev server, plus the parts a command's
 * deps name. `scope` is the default project's live environment; `otherScope`
 * a second project's, to show that one project cannot reach another's.
 */
export interface CommandEnv {
  hs: TestHookshot;
  db: Db;
  temporal: Client;
  config: Config;
  logger: Logger;
  scope: Scope;
  otherScope: Scope;
  /** A webhook row written directly (no entity started), to act on. */
  insertWebhook(name: string, url: string, scope?: Scope): Promise<Webhook>;
  close(): Promise<void>;
}

export async function startCommandEnv(env: Record<string, string> = {}): Promise<CommandEnv> {
  const hs = await startTestHookshot(env);
  const temporal = await createTemporalClient(hs.temporalAddress, hs.config.temporal.namespace);
  const project = (await getProjectByName(hs.db, 'default'))!;
  const other = await createProject(hs.db, { name: 'other', plan: 'ENTERPRISE' });
  const scope: Scope = { project, env: 'live' };
  return {
    hs,
    db: hs.db,
    temporal,
    config: hs.config,
    logger: createLogger('silent'),
    scope,
    otherScope: { project: other, env: 'live' },
    async insertWebhook(name, url, s = scope) {
      return (await createWebhook(hs.db, { project_id: s.project.id, env: s.env, name, url }))!;
    },
    async close() {
      await temporal.connection.close();
      await hs.close();
    },
  };
}
