import type { Sender, SendResult } from '../../delivery/sender.ts';
import type { MetricPoint } from '../../delivery/metric-point.ts';
import { StreamConnection, type StreamAddress } from '../../delivery/stream-connection.ts';
import { metricPath } from './metric-name.ts';
import { encodePickle, framePickle } from './pickle.ts';
import { encodePlaintext, type GraphitePoint } from './plaintext.ts';

export interface GraphiteOptions {
  address: StreamAddress;
  protocol: 'plaintext' | 'pickle';
  /** Default `rrduino`. */
  prefix: string;
  /** Hosted Graphite: the account's API key goes in front of every path. */
  apiKey?: string;
  caFile?: string;
  /** A batch is delivered once the connection lived this many ms after it (see StreamConnection). */
  resendWindowMs: number;
}

/** Points per pickle frame: well under carbon's 1 MiB (docs/graphite.md, "Pickle"). */
export const PICKLE_BATCH = 500;

/**
 * Sends points to carbon over plaintext or pickle, TCP or TLS. `U` values are not
 * queued (Graphite has no unknown value). Carbon acknowledges nothing: a batch counts
 * as delivered once the connection lived its resend window after it, and is sent again
 * when it broke first (whisper keeps one value per slot, so a repeat overwrites itself).
 */
export class GraphiteSender implements Sender {
  readonly maxBatch: number;
  readonly #o: GraphiteOptions;
  readonly #conn: StreamConnection;

  constructor(options: GraphiteOptions) {
    this.#o = options;
    this.maxBatch = options.protocol === 'pickle' ? PICKLE_BATCH : 2000;
    this.#conn = new StreamConnection({
      address: options.address,
      caFile: options.caFile,
      resendWindowMs: options.resendWindowMs,
    });
  }

  accepts(p: MetricPoint): p is MetricPoint & { value: number } {
    return p.value !== null;
  }

  async send(points: readonly MetricPoint[]): Promise<SendResult | void> {
    const gp: GraphitePoint[] = [];
    for (const p of points) {
      if (!this.accepts(p)) continue;
      gp.push([metricPath({ apiKey: this.#o.apiKey, prefix: this.#o.prefix, clientId: p.clientId, source: p.source }), Math.floor(p.timeMs / 1000), p.value]);
    }
    if (gp.length === 0) return;
    return this.#conn.write(this.#o.protocol === 'pickle' ? framePickle(encodePickle(gp)) : encodePlaintext(gp));
  }

  close(): Promise<void> {
    return this.#conn.close();
  }
}
