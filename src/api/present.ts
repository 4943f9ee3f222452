import type { DeliveryRow } from '../db/repositories/webhooks';

/** One delivery attempt as every endpoint shows it. */
export function presentAttempt(a: DeliveryRow) {
  return {
    id: a.id,
    job_uuid: a.job_id,
    series: a.series,
    attempt: a.attempt,
    at: a.started_at,
    url: a.url,
    final_url: a.final_url,
    success: a.success,
    status_code: a.status_code,
    duration_ms: a.duration_ms,
    error: a.error_code ? { code: a.error_code, message: a.error_message } : null,
    response_snippet: a.response_snippet,
  };
}
