import * as m001 from './001_initial';
import * as m002 from './002_webhook_entity';
import * as m003 from './003_idempotency';
import * as m004 from './004_disable_gate';
import * as m005 from './005_capture_slots';
import * as m006 from './006_event_secrets';
import * as m007 from './007_crawls';
import * as m008 from './008_dashboard';
import * as m009 from './009_dashboard_flash';
import * as m010 from './010_attempt_payloads';
import * as m011 from './011_crawler';

/** Applied in this order; never edit a shipped entry, add a new one. */
export const MIGRATIONS: ReadonlyArray<{ id: string; sql: string }> = [
  { id: '001_initial', sql: m001.sql },
  { id: '002_webhook_entity', sql: m002.sql },
  { id: '003_idempotency', sql: m003.sql },
  { id: '004_disable_gate', sql: m004.sql },
  { id: '005_capture_slots', sql: m005.sql },
  { id: '006_event_secrets', sql: m006.sql },
  { id: '007_crawls', sql: m007.sql },
  { id: '008_dashboard', sql: m008.sql },
  { id: '009_dashboard_flash', sql: m009.sql },
  { id: '010_attempt_payloads', sql: m010.sql },
  { id: '011_crawler', sql: m011.sql },
];
