import type { Client } from '@temporalio/client';
import type { CaptureSlots } from '../concurrency/slots';
import type Koa from 'koa';
import type { Config } from '../config';
import type { Db } from '../db/pool';
import type { KeyScope } from '../db/repositories/projects';
import type { DashboardSession } from '../db/rows';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

export interface ApiDeps {
  db: Db;
  config: Config;
  logger: Logger;
  temporal: Client;
  /** Plan concurrency: a synchronous capture takes its slot before it starts, or is refused. */
  slots: CaptureSlots;
  /** Served at GET /metrics; in role all it holds the worker's counts too. */
  metrics: Metrics;
}

export interface AppState {
  requestId: string;
  scope?: KeyScope;
  /** A signed-in dashboard user (src/web/session.ts). */
  session?: DashboardSession;
  input?: unknown;
  /** The query string after a route reshaped it (see liftBracketHeaders). */
  query?: Record<string, unknown>;
}

export type Ctx = Koa.ParameterizedContext<AppState>;
