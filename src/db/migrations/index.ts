import * as m001 from './001_initial';

/** Applied in this order; never edit a shipped entry, add a new one. */
export const MIGRATIONS: ReadonlyArray<{ id: string; sql: string }> = [{ id: '001_initial', sql: m001.sql }];
