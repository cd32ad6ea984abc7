import type { MetricPoint } from './metric-point.ts';

/** Why a sender left points of a batch out. */
export type UnsentReason = 'out_of_range';

/** What a sender reports about a batch it carried. */
export interface SendResult {
  /** Points of the batch it could not encode and left out (counted as dropped). */
  readonly unsent?: number;
  readonly reason?: UnsentReason;
  /**
   * The destination's delivery rule for this batch, where it is more than `send` resolving:
   * settles once the batch counts as delivered (a stream destination: its resend window passed
   * without the connection breaking), rejects when it may have been lost and must be sent
   * again. Until then the batch stays in the point buffer (on disk once the destination is in
   * trouble). Absent: delivered when `send` resolved (GottWall's 2xx; a broker's ack).
   */
  readonly delivered?: Promise<void>;
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
   * Hands a batch to the destination; resolves once it left (docs/delivery.md, "What sent
   * means"), with its delivery rule when that is more; rejects with a DeliveryError (retryable
   * or not) when it did not leave.
   */
  send(points: readonly MetricPoint[]): Promise<SendResult | void>;
  close(): Promise<void>;
}
