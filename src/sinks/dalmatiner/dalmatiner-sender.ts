import type { Logger } from 'pino';
import { CodecError, errorMessage } from '../../errors.ts';
import type { Stats } from '../../stats.ts';
import type { BatchSender } from '../delivery-queue.ts';
import type { MetricPoint } from '../metric-point.ts';
import { StreamConnection, type StreamAddress } from '../stream-connection.ts';
import { encodeFlush, encodePayload, encodePoint, encodeStreamInit, scaleValue, type Dialect } from './codec.ts';

export interface DalmatinerOptions {
  name: string;
  address: StreamAddress;
  dialect: Dialect;
  bucket: string;
  /** Seconds; the server flushes past it, and the gateway sends a flush after it. Default 5. */
  maxDelay: number;
  /** Readings × scale, rounded, are the integer points. Default 100 (hundredths). */
  scale: number;
  /** release dialect only: send mmath float words instead of scaled integers. */
  floats: boolean;
  /** Metric name parts in front of `<client_id>.<source>`. */
  prefix: string[];
  logger: Logger;
  stats: Stats;
}

/** Streams points to DalmatinerDB: stream init on every (re)connect, payloads, flushes. */
export class DalmatinerSender implements BatchSender {
  readonly maxBatch = 500;
  readonly #o: DalmatinerOptions;
  readonly #conn: StreamConnection;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(options: DalmatinerOptions) {
    if (options.floats && options.dialect !== 'release') throw new RangeError('floats: true needs dialect "release"');
    this.#o = options;
    this.#conn = new StreamConnection({ address: options.address, greeting: () => encodeStreamInit(options.dialect, options.bucket, options.maxDelay) });
  }

  async send(points: readonly MetricPoint[]): Promise<void> {
    const { dialect, scale, floats, prefix } = this.#o;
    const payloads: Buffer[] = [];
    for (const p of points) {
      let point: Buffer;
      try {
        point = floats ? encodePoint(dialect, p.value, true) : encodePoint(dialect, scaleValue(p.value, scale));
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        this.#o.stats.count(`dest.${this.#o.name}.out_of_range`);
        this.#o.logger.error({ code: err.code, clientId: p.clientId, source: p.source, destination: this.#o.name }, `value not sent to DalmatinerDB: ${errorMessage(err)}`);
        continue;
      }
      payloads.push(encodePayload(dialect, [...prefix, p.clientId, p.source], Math.floor(p.timeMs / 1000), [point]));
    }
    if (payloads.length === 0) return;
    await this.#conn.write(Buffer.concat(payloads));
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      this.#conn.write(encodeFlush(dialect)).catch(() => undefined); // the next batch reconnects
    }, this.#o.maxDelay * 1000);
  }

  async close(): Promise<void> {
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
      if (this.#conn.connected) await this.#conn.write(encodeFlush(this.#o.dialect)).catch(() => undefined);
    }
    await this.#conn.close();
  }
}
