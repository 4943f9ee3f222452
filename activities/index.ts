import type { ActivityDeps } from './deps';
import { createCrawlActivities } from './crawl';
import { createEventActivities } from './events';
import { createJobActivities } from './job';
import { createWebhookActivities } from './webhook';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return { ...createJobActivities(deps), ...createWebhookActivities(deps), ...createCrawlActivities(deps), ...createEventActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
