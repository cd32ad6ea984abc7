import type { MetricPoint } from './metric-point.ts';

/** Why a sender left points of a batch out. */
export type UnsentReason = 'out_of_range';

/** What a sender reports about a batch it carried. */
export interface SendResult {
  /** Points of the batch it could not encode and left out (counted as dropped). */
  readonly unsent?: number;
  readonly reason?: UnsentReason;
}

/**
 * The contract between the delivery queue and one destination's wire protocol: how a
 * batch of points is sent. Implemented once per destination kind.
 */
export interface Sender {
  /** Points per call at most (pickle: 500). */
  readonly maxBatch: number;
  /** Whether the destination carries this point at all (Graphite has no "unknown"); others are never queued. */
  accepts?(point: MetricPoint): boolean;
  /**
   * Resolves once the batch counts as delivered for this protocol (docs/delivery.md, "What
   * sent means"); rejects with a DeliveryError (retryable or not) when it was not.
   */
  send(points: readonly MetricPoint[]): Promise<SendResult | void>;
  close(): Promise<void>;
}
