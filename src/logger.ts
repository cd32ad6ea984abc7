import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The gateway's one logger (JSON lines on stdout). Sessions add `{clientId, remote}`
 * with child loggers. Keys are never passed to it; the redaction is a second fence.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['key', '*.key', 'preSharedKey', '*.preSharedKey', 'apiKey', '*.apiKey', 'privateKey', '*.privateKey', 'publicKey', '*.publicKey'], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
