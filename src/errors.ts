// The one table of error codes and the one error hierarchy. Whether an error
// is retryable and which HTTP status it answers with are facts about its code,
// kept here and nowhere else; the API's error middleware turns any AppError
// into the one JSON shape {code, message, http_code, retryable, error_id}.

export interface ErrorInfo {
  readonly http: number;
  readonly retryable: boolean;
}

const e = (http: number, retryable = false): ErrorInfo => ({ http, retryable });

export const ERROR_CODES = {
  // The API itself.
  'ERR::API::BAD_REQUEST': e(400),
  'ERR::API::NOT_FOUND': e(404),
  'ERR::API::METHOD_NOT_ALLOWED': e(405),
  'ERR::API::PAYLOAD_TOO_LARGE': e(413),
  // Refused by the HTTP parser before any route (src/api/clientError.ts): a
  // head over the server's limit (its request line, or its header fields), a
  // request that did not arrive in time.
  'ERR::API::URI_TOO_LONG': e(414),
  'ERR::API::HEADERS_TOO_LARGE': e(431),
  'ERR::API::REQUEST_TIMEOUT': e(408, true),
  'ERR::API::UNSUPPORTED_MEDIA_TYPE': e(415),
  'ERR::API::INTERNAL': e(500, true),
  'ERR::API::NOT_IMPLEMENTED': e(501),

  'ERR::AUTH::MISSING_KEY': e(401),
  'ERR::AUTH::INVALID_KEY': e(401),
  'ERR::AUTH::INVALID_ADMIN_TOKEN': e(401),
  'ERR::AUTH::KEY_NOT_FOUND': e(404),

  'ERR::VALIDATION::INVALID_PARAMETER': e(400),

  'ERR::IDEMPOTENCY::KEY_REUSED': e(409),
  // The first request is still running: the same request later gets its answer.
  'ERR::IDEMPOTENCY::IN_PROGRESS': e(409, true),

  // Dashboard forms: the CSRF token was missing or wrong.
  'ERR::DASHBOARD::CSRF': e(403),

  'ERR::PROJECT::NOT_FOUND': e(404),
  'ERR::PROJECT::ALREADY_EXISTS': e(409),

  'ERR::JOB::NOT_FOUND': e(404),
  'ERR::JOB::NOT_REPLAYABLE': e(409),
  'ERR::JOB::NOT_READY': e(409),

  // Crawls and batch scrapes (the Firecrawl-style /v1 and /v2 routes).
  'ERR::CRAWL::NOT_FOUND': e(404),

  // Scrapfly's Crawler API (/crawl). Its SDK raises ScrapflyCrawlerError only
  // for codes containing ::CRAWLER::, so these routes use them.
  'ERR::CRAWLER::NOT_FOUND': e(404),
  'ERR::CRAWLER::CONFIG_ERROR': e(400),
  'ERR::CRAWLER::NOT_FINISHED': e(409),
  // A crawler page's outcome (crawler_url_failed's `error`), never an API
  // answer: robots.txt forbids the page (or could not be read, RFC 9309), or
  // the worker could not fetch it after its retries (our fault, not the page's).
  // Other failed pages carry the scrape job's codes (ERR::SCRAPE::…).
  'ERR::CRAWLER::ROBOTS_DISALLOWED': e(422),
  'ERR::CRAWLER::PAGE_FAILED': e(500, true),

  // PostgreSQL is unreachable or went away (src/db/errors.ts says which
  // failures mean that); the pool reconnects by itself once it is back.
  'ERR::DATABASE::UNAVAILABLE': e(503, true),

  // Temporal did not take the job, or its answer could not be read.
  'ERR::TEMPORAL::UNAVAILABLE': e(503, true),
  'ERR::THROTTLE::MAX_CONCURRENT_REQUEST_EXCEEDED': e(429, true),

  // Webhooks: API answers, then the outcomes of delivery attempts.
  'ERR::WEBHOOK::NOT_FOUND': e(404),
  'ERR::WEBHOOK::ALREADY_EXISTS': e(409),
  'ERR::WEBHOOK::DISABLED': e(400),
  'ERR::WEBHOOK::QUEUE_FULL': e(429, true),
  'ERR::WEBHOOK::DELIVERIES_PENDING': e(409),
  'ERR::WEBHOOK::ENDPOINT_UNREACHABLE': e(502, true),
  'ERR::WEBHOOK::ENDPOINT_ERROR': e(502, true),
  'ERR::WEBHOOK::TIMEOUT': e(504, true),
  // The ladder is spent; only a replay sends it again.
  'ERR::WEBHOOK::MAX_RETRY': e(502),

  // Captures (src/capture/run.ts builds ERR::<SCRAPE|SCREENSHOT>::<NAME>).
  // 422: the target or the request cannot be captured as asked, including a
  // target that did not answer in time or at all (retryable: it may answer
  // later). That is no fault of ours, and the Scrapfly SDKs send every 5xx
  // again and then lose the code. 5xx (FAILED) only when the worker could not
  // capture.
  'ERR::SCRAPE::TIMEOUT': e(422, true),
  'ERR::SCRAPE::NETWORK': e(422, true),
  'ERR::SCRAPE::ADDRESS_REFUSED': e(422),
  'ERR::SCRAPE::REDIRECT': e(422),
  'ERR::SCRAPE::TOO_LARGE': e(422),
  'ERR::SCRAPE::NOT_JSON': e(422),
  'ERR::SCRAPE::FAILED': e(502, true),
  'ERR::SCRAPE::SELECTOR_TIMEOUT': e(422),
  'ERR::SCRAPE::INVALID_SELECTOR': e(422),
  'ERR::SCRAPE::SELECTOR_NOT_FOUND': e(422),
  // Not stored: the scrape document's reading of a target that answered 4xx/5xx.
  'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE': e(422),
  'ERR::SCREENSHOT::TIMEOUT': e(422, true),
  'ERR::SCREENSHOT::NETWORK': e(422, true),
  'ERR::SCREENSHOT::ADDRESS_REFUSED': e(422),
  'ERR::SCREENSHOT::REDIRECT': e(422),
  'ERR::SCREENSHOT::TOO_LARGE': e(422),
  'ERR::SCREENSHOT::NOT_JSON': e(422),
  'ERR::SCREENSHOT::FAILED': e(502, true),
  'ERR::SCREENSHOT::SELECTOR_TIMEOUT': e(422),
  'ERR::SCREENSHOT::INVALID_SELECTOR': e(422),
  'ERR::SCREENSHOT::SELECTOR_NOT_FOUND': e(422),
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes a delivery series can end a job with; a replay clears them (a capture's own error stays). */
export const DELIVERY_END_CODES: readonly ErrorCode[] = ['ERR::WEBHOOK::MAX_RETRY', 'ERR::WEBHOOK::DISABLED', 'ERR::WEBHOOK::NOT_FOUND'];

/** What a code stored before this table knew it (an old row) is taken to be. */
export const UNKNOWN_CODE: ErrorInfo = e(500);

/** The table's entry for any code string, such as one read from the database. */
export function errorInfo(code: string): ErrorInfo {
  // hasOwn: a stored string like "constructor" must not find Object.prototype.
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : UNKNOWN_CODE;
}

export interface ErrorBody {
  code: string;
  message: string;
  http_code: number;
  retryable: boolean;
  error_id: string;
}

/** A code read back from storage: only a string, and it may predate the table. */
type StoredCode = string & { readonly __stored: unique symbol };

export class AppError extends Error {
  readonly code: string;
  readonly httpCode: number;
  readonly retryable: boolean;

  constructor(
    code: ErrorCode | StoredCode,
    message: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    ({ http: this.httpCode, retryable: this.retryable } = errorInfo(code));
  }

  /** For an error code kept in the database (a job's error_code). */
  static stored(code: string, message: string): AppError {
    return new AppError(code as StoredCode, message);
  }

  toBody(errorId: string): ErrorBody {
    return { code: this.code, message: this.message, http_code: this.httpCode, retryable: this.retryable, error_id: errorId };
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR::VALIDATION::INVALID_PARAMETER', message, details);
  }
}

export const AuthErrors = {
  missing: () => new AppError('ERR::AUTH::MISSING_KEY', 'API key is missing: pass ?key= or Authorization: Bearer <key>'),
  invalid: () => new AppError('ERR::AUTH::INVALID_KEY', 'API key is invalid or revoked'),
  adminInvalid: () => new AppError('ERR::AUTH::INVALID_ADMIN_TOKEN', 'admin token is missing or wrong'),
};

export const WebhookErrors = {
  notFound: (name: string) => new AppError('ERR::WEBHOOK::NOT_FOUND', `webhook "${name}" does not exist in this project and environment`),
  duplicate: (name: string) =>
    new AppError('ERR::WEBHOOK::ALREADY_EXISTS', `a webhook named "${name}" already exists in this project and environment`),
  disabled: (name: string) => new AppError('ERR::WEBHOOK::DISABLED', `webhook "${name}" is disabled; re-enable it to send jobs to it`),
  queueFull: (limit: number) => new AppError('ERR::WEBHOOK::QUEUE_FULL', `the project's webhook queue is full (limit ${limit} pending deliveries)`),
};
