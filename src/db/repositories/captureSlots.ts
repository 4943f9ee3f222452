import { withTransaction, type Db, type DbClient, onlyRow } from '../pool';

type Q = Db | DbClient;

export interface SlotRequest {
  projectId: string;
  /** Who holds or waits: the workflow id to wake when a slot is granted. */
  holder: string;
  /** The project's limit of simultaneous captures. */
  limit: number;
  /** How long a started lease lives without its holder renewing or releasing it. */
  ttlMs: number;
  /** How long a lease granted from the line waits for its holder to come for it. */
  grantTtlMs: number;
}

export type SlotState = 'granted' | 'queued' | 'full';

/** Joins the project's line at submission, so slots go out in submission order. The caller holds the project's row lock (lockProject). */
export async function enqueueCapture(db: Q, projectId: string, holder: string): Promise<void> {
  await db.query('INSERT INTO capture_waiters (holder, project_id) VALUES ($1, $2) ON CONFLICT (holder) DO NOTHING', [holder, projectId]);
}

/**
 * Asks for a capture slot (005_capture_slots). `wait`: wait in line when
 * none is free; otherwise answer 'full'. `woken`: parked holders this call
 * granted a slot (freed by an expired lease), to be woken.
 */
export async function acquireCaptureSlot(db: Q, r: SlotRequest & { wait: boolean }): Promise<{ state: SlotState; woken: string[] }> {
  const { rows } = await db.query<{ state: SlotState; woken: string[] }>('SELECT state, woken FROM capture_slot_acquire($1, $2, $3, $4, $5, $6)', [
    r.projectId,
    r.holder,
    r.limit,
    r.ttlMs,
    r.grantTtlMs,
    r.wait,
  ]);
  return onlyRow(rows);
}

/** Frees the holder's slot or its place in line; returns the parked holders granted the freed slots. */
export async function releaseCaptureSlot(db: Q, r: SlotRequest): Promise<string[]> {
  const { rows } = await db.query<{ woken: string[] }>('SELECT capture_slot_release($1, $2, $3, $4) AS woken', [
    r.projectId,
    r.holder,
    r.limit,
    r.grantTtlMs,
  ]);
  return onlyRow(rows).woken;
}

/** Hands free slots to the line (after a limit was raised); returns the parked holders granted. */
export function fillCaptureSlots(db: Db, r: Omit<SlotRequest, 'holder' | 'ttlMs'>): Promise<string[]> {
  return withTransaction(db, async (c) => {
    await c.query('SELECT capture_slots_lock($1)', [r.projectId]);
    const { rows } = await c.query<{ woken: string[] }>('SELECT capture_slots_fill($1, $2, $3) AS woken', [r.projectId, r.limit, r.grantTtlMs]);
    return onlyRow(rows).woken;
  });
}

/**
 * Frees every slot and place in line whose holder starts with `prefix` (a
 * crawl's pages, when the crawl ends); returns the parked holders granted
 * the freed slots.
 */
export function releaseCaptureSlotsByPrefix(db: Db, r: Omit<SlotRequest, 'holder' | 'ttlMs'> & { prefix: string }): Promise<string[]> {
  return withTransaction(db, async (c) => {
    await c.query('SELECT capture_slots_lock($1)', [r.projectId]);
    const like = `${r.prefix.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    await c.query('DELETE FROM capture_leases WHERE project_id = $1 AND holder LIKE $2', [r.projectId, like]);
    await c.query('DELETE FROM capture_waiters WHERE project_id = $1 AND holder LIKE $2', [r.projectId, like]);
    const { rows } = await c.query<{ woken: string[] }>('SELECT capture_slots_fill($1, $2, $3) AS woken', [r.projectId, r.limit, r.grantTtlMs]);
    return onlyRow(rows).woken;
  });
}
