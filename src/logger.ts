import pino from 'pino';

// Structured JSON logs. Secrets are redacted by path so a stray log call with
// a webhook or key object cannot leak them.
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      base: { service: 'hookshot' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'secret',
          'signing_secret',
          'signingSecret',
          '*.secret',
          '*.signing_secret',
          '*.signingSecret',
          'key',
          'headers.authorization',
          'req.headers.authorization',
          'query.key',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(1),
  );
}

export type Logger = pino.Logger;
