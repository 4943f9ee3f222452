import { AppError } from '../../../errors';
import type { Ctx } from '../../context';

// A form's outcome travels in the 303's query as a code, never as text: a
// link someone else crafts can only pick one of these sentences.
const REFUSALS: Record<string, string> = {
  'ERR::JOB::NOT_REPLAYABLE': 'This job cannot be replayed: it had no webhook, or it never started.',
  'ERR::JOB::NOT_READY': 'This job has not finished its capture yet: there is nothing to deliver.',
  'ERR::WEBHOOK::DISABLED': 'The webhook is disabled: enable it first, then replay.',
  'ERR::WEBHOOK::NOT_FOUND': 'The webhook no longer exists.',
};

/** A replay the rules refused (the form says why), as opposed to a failure (the error page). */
export const isRefusal = (err: unknown): err is AppError => err instanceof AppError && Object.hasOwn(REFUSALS, err.code);

export type Flash = { kind: 'ok' | 'error'; text: string } | null;

export function flashOf(ctx: Ctx): Flash {
  const q = ctx.query;
  // A repeated ?flash= (an array) is no flash, like a missing one.
  if (typeof q.flash !== 'string') return null;
  switch (q.flash) {
    case 'replayed':
      return { kind: 'ok', text: 'Replay requested: the job is delivered again, and its new attempts appear here.' };
    case 'replayed-all': {
      const n = Number.parseInt(String(q.n ?? '0'), 10) || 0;
      return { kind: 'ok', text: `Replay of ${n} failed deliver${n === 1 ? 'y' : 'ies'} requested: new attempts appear here as they are made.` };
    }
    case 'refused':
      return { kind: 'error', text: REFUSALS[String(q.code)] ?? 'The request was refused.' };
    default:
      return null;
  }
}

/** A small positive integer from the query (page sizes, cursors), or the fallback. */
export function intParam(v: unknown, fallback: number, min: number, max: number): number;
export function intParam(v: unknown, fallback: number | null, min: number, max: number): number | null;
export function intParam(v: unknown, fallback: number | null, min: number, max: number): number | null {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return fallback;
  const n = Number(v);
  return n < min ? min : n > max ? max : n;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
