// One error hierarchy; the API's error middleware turns any of these into
// the one JSON shape {code, message, http_code, retryable}.

export interface ErrorBody {
  code: string;
  message: string;
  http_code: number;
  retryable: boolean;
}

export class AppError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly httpCode: number,
    public readonly retryable = false,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, http_code: this.httpCode, retryable: this.retryable };
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR::VALIDATION::INVALID_PARAMETER', message, 400, false, details);
  }
}

export class AuthError extends AppError {
  static missing() {
    return new AuthError('ERR::AUTH::MISSING_KEY', 'API key is missing: pass ?key= or Authorization: Bearer <key>', 401);
  }
  static invalid() {
    return new AuthError('ERR::AUTH::INVALID_KEY', 'API key is invalid or revoked', 401);
  }
  static adminInvalid() {
    return new AuthError('ERR::AUTH::INVALID_ADMIN_TOKEN', 'admin token is missing or wrong', 401);
  }
  private constructor(code: string, message: string, http: number) {
    super(code, message, http, false);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 404, false);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 409, false);
  }
}

export const WebhookErrors = {
  notFound: (name: string) =>
    new NotFoundError('ERR::WEBHOOK::NOT_FOUND', `webhook "${name}" does not exist in this project and environment`),
  duplicate: (name: string) =>
    new ConflictError('ERR::WEBHOOK::ALREADY_EXISTS', `a webhook named "${name}" already exists in this project and environment`),
  disabled: (name: string) =>
    new AppError('ERR::WEBHOOK::DISABLED', `webhook "${name}" is disabled; re-enable it to send jobs to it`, 400, false),
  queueFull: (limit: number) =>
    new AppError('ERR::WEBHOOK::QUEUE_FULL', `the project's webhook queue is full (limit ${limit} pending deliveries)`, 429, true),
};


/** Whether trying the same capture again may succeed: transient faults only. */
export function isRetryableCode(code: string): boolean {
  return /::(TIMEOUT|NETWORK|UNAVAILABLE|INTERNAL|FAILED)$/.test(code);
}
