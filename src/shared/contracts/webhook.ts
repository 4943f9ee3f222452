// Webhook entity workflow contracts: what it stores, the notices it raises,
// and the work it hands to its fan-out child.

export interface WebhookEvent {
  kind: 'warning' | 'disabled' | 'enabled' | 'disabled_manually';
  /** Percent of the threshold for warnings; the threshold for disabled. */
  threshold: number;
  count: number;
  /** Per-webhook sequence number: the notification's dedupe key. */
  seq: number;
}

export interface StoredWebhookState {
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  consecutiveFailedCount: number;
}

/** Work the webhook entity hands to a child workflow, so its own loop never waits on it. */
export interface WebhookFanoutInput {
  webhookId: string;
  /**
   * replay: deliver every failed job (and crawler event) again; stop: wake
   * those waiting on the ladder so they end as DISABLED.
   */
  action: 'replay' | 'stop';
  /** Makes repeats harmless: one child per id, and jobs drop a replay id they have seen. */
  requestId: string;
  /** replay only: jobs created at or after this ISO time. */
  since: string | null;
}
