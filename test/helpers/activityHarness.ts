// What an activity test builds its activities from: a fresh migrated
// database with one project, the guarded HTTP clients production uses (with
// loopback allowed), real capture slots, and typed fakes only for the pure
// injections (the Temporal client, metrics, the browser). The fakes record
// what they were asked, so a test asserts on the signal an entity would get.
import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Agent } from 'undici';
import type { ActivityDeps } from '../../activities/deps';
import type { PageRenderer } from '../../src/capture/browser';
import { createCaptureSlots } from '../../src/concurrency/slots';
import { loadConfig, type Config } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createProject } from '../../src/db/repositories/projects';
import type { Project } from '../../src/db/rows';
import { createLogger } from '../../src/logger';
import type { MetricsRecorder } from '../../src/metrics';
import { AddressGuard } from '../../src/net/addressGuard';
import { createGuardedAgent } from '../../src/net/httpClient';
import type { WorkflowStarter } from '../../src/temporal/client';
import { captureLeaseTtlMs } from '../../src/temporal/jobInput';
import { freshDatabase, type TestDatabase } from './env';

/** One call the activities made on the Temporal client. */
export type TemporalCall =
  | { kind: 'signalWithStart'; workflowType: string; workflowId: string; taskQueue: string; args: unknown[]; signal: string; signalArgs: unknown[] }
  | { kind: 'start'; workflowType: string; workflowId: string; taskQueue: string; args: unknown[] }
  | { kind: 'signal'; workflowId: string; signal: string };

/** A WorkflowStarter that records every call; `fail` makes the next calls throw (a server that refuses). */
export interface RecordingTemporal extends WorkflowStarter {
  calls: TemporalCall[];
  /** Set to an error to make every call reject with it; null to answer again. */
  fail: Error | null;
}

export function recordingTemporal(): RecordingTemporal {
  const calls: TemporalCall[] = [];
  const t: RecordingTemporal = {
    calls,
    fail: null,
    workflow: {
      async start(workflowType, options) {
        if (t.fail) throw t.fail;
        calls.push({ kind: 'start', workflowType, workflowId: options.workflowId, taskQueue: options.taskQueue, args: [...(options.args ?? [])] });
      },
      async signalWithStart(workflowType, options) {
        if (t.fail) throw t.fail;
        calls.push({
          kind: 'signalWithStart',
          workflowType,
          workflowId: options.workflowId,
          taskQueue: options.taskQueue,
          args: [...options.args],
          signal: typeof options.signal === 'string' ? options.signal : options.signal.name,
          signalArgs: [...(options.signalArgs ?? [])],
        });
      },
      getHandle(workflowId) {
        return {
          async signal(def) {
            if (t.fail) throw t.fail;
            calls.push({ kind: 'signal', workflowId, signal: def.name });
          },
        };
      },
    },
  };
  return t;
}

export type MetricCall =
  | { kind: 'delivery'; outcome: 'success' | 'failure'; durationMs: number }
  | { kind: 'jobFinished'; jobKind: string; status: string }
  | { kind: 'webhookDisabled'; reason: string };

export function recordingMetrics(): MetricsRecorder & { calls: MetricCall[] } {
  const calls: MetricCall[] = [];
  return {
    calls,
    delivery: (outcome, durationMs) => void calls.push({ kind: 'delivery', outcome, durationMs }),
    jobFinished: (jobKind, status) => void calls.push({ kind: 'jobFinished', jobKind, status }),
    webhookDisabled: (reason) => void calls.push({ kind: 'webhookDisabled', reason }),
  };
}

/** Plain scrapes never open a page: a test that reaches the browser has gone wrong. */
export const noBrowser: PageRenderer = {
  withPage: () => Promise.reject(new Error('this test runs plain HTTP captures only; the browser was asked for a page')),
};

export interface ActivityHarness {
  database: TestDatabase;
  config: Config;
  project: Project;
  temporal: RecordingTemporal;
  metrics: ReturnType<typeof recordingMetrics>;
  deps: ActivityDeps;
  close(): Promise<void>;
}

/**
 * A fresh database (migrated, one FREE project) and the deps of every
 * activity factory. `env` overrides configuration as Hookshot's environment
 * would. Call close() in after().
 */
export async function startActivityHarness(env: Record<string, string> = {}): Promise<ActivityHarness> {
  const database = await freshDatabase();
  await migrate(database.pool);
  const config = loadConfig({
    DATABASE_URL: database.url,
    // Never dialled: the client is the recording fake.
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    TEMPORAL_TASK_QUEUE: `acttest-${randomBytes(4).toString('hex')}`,
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
    ...env,
  });
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const project = await createProject(database.pool, { name: `acttest-${randomBytes(3).toString('hex')}`, plan: 'FREE' });
  const temporal = recordingTemporal();
  const metrics = recordingMetrics();
  const agents: Agent[] = [
    createGuardedAgent({ guard: new AddressGuard(config.webhook.allowedCidrs) }),
    createGuardedAgent({ guard: new AddressGuard(config.scrape.allowedCidrs) }),
  ];
  const [webhookHttp, scrapeHttp] = agents as [Agent, Agent];
  const slots = createCaptureSlots({ db: database.pool, temporal, logger, ttlMs: captureLeaseTtlMs(config), enabled: true });
  return {
    database,
    config,
    project,
    temporal,
    metrics,
    deps: { db: database.pool, config, logger, webhookHttp, scrapeHttp, temporal, browser: noBrowser, slots, metrics },
    async close() {
      await Promise.all(agents.map((a) => a.close()));
      await database.drop();
    },
  };
}

/**
 * env.run with the input checked against the activity's own parameter: run()
 * infers its argument types from the argument, which widens literal fields
 * ('replay' to string) and then refuses the activity.
 */
export function runIn<I, R>(env: MockActivityEnvironment, activity: (input: I) => Promise<R>, input: I): Promise<R> {
  return env.run(activity, input);
}

/** A MockActivityEnvironment whose SDK logger keeps quiet about the failures a test provokes on purpose. */
export function quietActivityEnv(info?: ConstructorParameters<typeof MockActivityEnvironment>[0]): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}
