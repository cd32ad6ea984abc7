import type { Logger } from 'pino';
import { CodecError, ConfigError, errorMessage } from '../../errors.ts';
import { logThrottle } from '../../log-limiter.ts';
import type { Stats } from '../../stats.ts';
import type { Sender, SendResult } from '../../delivery/sender.ts';
import type { MetricPoint } from '../../delivery/metric-point.ts';
import { StreamConnection, type StreamAddress } from '../../delivery/stream-connection.ts';
import { encodeFlush, encodePayload, encodePoint, encodeStreamInit, scaleValue, type Dialect } from './codec.ts';

export interface DalmatinerOptions {
  name: string;
  address: StreamAddress;
  dialect: Dialect;
  bucket: string;
  /** Seconds: the longest the server holds points before it writes them (stream init). Default 5. */
  maxDelay: number;
  /** Readings × scale, rounded, are the integer points. Default 100 (hundredths). */
  scale: number;
  /** release dialect only: send mmath float words instead of scaled integers. */
  floats: boolean;
  /** Metric name parts in front of `<client_id>.<source>`. */
  prefix: string[];
  /** A batch is delivered once the connection lived this many ms after it (see StreamConnection). */
  resendWindowMs: number;
  logger: Logger;
  stats: Stats;
}

/**
 * Streams points to DalmatinerDB: the stream init on every (re)connect, then each batch
 * as payloads followed by a flush, so the server writes it at once instead of up to
 * `maxDelay` s later. Stream mode has no acknowledgement: a batch counts as delivered
 * once the connection lived its resend window after its payloads and flush, and is sent
 * again when it broke first (the server keeps one value per metric and second).
 */
export class DalmatinerSender implements Sender {
  readonly maxBatch = 500;
  readonly #o: DalmatinerOptions;
  readonly #conn: StreamConnection;
  readonly #flush: Buffer;
  readonly #mayLogRange = logThrottle(10_000);

  constructor(options: DalmatinerOptions) {
    if (options.floats && options.dialect !== 'release') throw new ConfigError('E_CONFIG_INVALID', 'floats: true needs dialect "release"');
    this.#o = options;
    this.#flush = encodeFlush(options.dialect);
    this.#conn = new StreamConnection({
      address: options.address,
      // Built once here: a bucket the codec cannot encode fails at start, not in a socket callback.
      greeting: encodeStreamInit(options.dialect, options.bucket, options.maxDelay),
      resendWindowMs: options.resendWindowMs,
    });
  }

  async send(points: readonly MetricPoint[]): Promise<SendResult> {
    const { dialect, scale, floats, prefix } = this.#o;
    const parts: Buffer[] = [];
    let unsent = 0;
    for (const p of points) {
      try {
        const point = floats ? encodePoint(dialect, p.value, true) : encodePoint(dialect, scaleValue(p.value, scale));
        // A board may name a value with up to a line's length; a metric part over 255 bytes cannot be sent.
        parts.push(encodePayload(dialect, [...prefix, p.clientId, p.source], Math.floor(p.timeMs / 1000), [point]));
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        unsent++;
        this.#logOutOfRange(p, err);
      }
    }
    if (parts.length === 0) return { unsent, reason: 'out_of_range' };
    parts.push(this.#flush);
    const { delivered } = await this.#conn.write(Buffer.concat(parts));
    return { unsent, reason: 'out_of_range', delivered };
  }

  close(): Promise<void> {
    return this.#conn.close();
  }

  #logOutOfRange(p: MetricPoint, err: CodecError): void {
    if (!this.#mayLogRange()) return;
    this.#o.logger.error(
      { code: err.code, clientId: p.clientId, source: p.source, destination: this.#o.name },
      `value not sent to DalmatinerDB (counted in dest.${this.#o.name}.dropped.out_of_range): ${errorMessage(err)}`,
    );
  }
}
