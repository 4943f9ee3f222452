import { z } from 'zod';
import { PLANS } from '../../../db/rows';

const alertUrl = z
  .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
  .max(2048)
  .nullable();

export const CreateProject = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
  plan: z.enum(PLANS),
  alert_url: alertUrl.optional(),
});

export const UpdateProject = z.strictObject({
  name: z.string(),
  plan: z.enum(PLANS).optional(),
  alert_url: alertUrl.optional(),
  /** Captures that may run at once; null returns to the plan's number. */
  concurrency: z.number().int().min(1).max(100_000).nullable().optional(),
});

export const CreateKey = z.strictObject({ name: z.string(), env: z.enum(['test', 'live']) });
export const RevokeKey = z.strictObject({ prefix: z.string().min(1).max(64) });
