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

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * The logger `serve` uses: JSON lines for machines (when piped, or `json`), or for people on
 * a terminal (`auto`, or `pretty`): one line each with the local time in ISO form, the level,
 * the message and its fields. pino-pretty is loaded only then.
 */
export async function createServiceLogger(level: LevelWithSilent, format: LogFormat, stdout: NodeJS.WriteStream = process.stdout): Promise<Logger> {
  const human = format === 'pretty' || (format === 'auto' && stdout.isTTY === true);
  if (!human) return createLogger(level);
  const { default: pretty } = await import('pino-pretty');
  return createLogger(level, pretty({ destination: 1, sync: true, singleLine: true, colorize: stdout.isTTY === true, translateTime: "SYS:yyyy-mm-dd'T'HH:MM:ss.lo", ignore: 'pid,hostname' }));
}
