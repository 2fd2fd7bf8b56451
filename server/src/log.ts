import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Handlers log ids, codes and counts only; as a second line of defence,
 * fields that could carry content or secrets are redacted wherever they appear.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'liaison-relay' },
    redact: {
      paths: [
        'ciphertext',
        '*.ciphertext',
        'envelopes',
        '*.envelopes',
        'token',
        '*.token',
        'signature',
        '*.signature',
        'proof',
        '*.proof',
        'nonce',
        '*.nonce',
        'req.headers.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
