import type { MetricPoint } from './metric-point.ts';

/**
 * Points taken out of a buffer to be sent. They stay in the buffer, counted in its length,
 * until the batch is ended: a batch is a transaction, not a removal.
 */
export interface Batch {
  readonly points: readonly MetricPoint[];
}

/**
 * Where a destination's points wait until its delivery rule holds (docs/delivery.md), after
 * Telegraf's output buffer: points are added at the back, taken in batches from the front, and
 * leave only when their batch is ended as done. Batches are begun and ended in order; a batch
 * ended as not done takes every batch begun after it back with it, so the points are offered
 * again oldest first. Implementations: {@link MemoryBuffer} (memory-buffer.ts), `DiskBuffer`
 * (the spool, disk-buffer.ts) and `SpillingBuffer`, the policy that composes them. One contract
 * test suite (test/delivery/point-buffer.contract.test.ts) runs over all three.
 */
export interface PointBuffer {
  /** Points held: waiting, and in open batches. */
  readonly length: number;
  /** Adds points at the back; answers how many of them it could not take (from the front of `points`, it takes what fits). */
  add(points: readonly MetricPoint[]): number;
  /** The oldest points that are in no open batch, at most `max`; undefined when there are none, or none can be read now. */
  begin(max: number): Batch | undefined;
  /**
   * Ends a batch. Done: the oldest open batch's points leave the buffer; answers how many left
   * (fewer than the batch held when the buffer had to give some up meanwhile, e.g. a spool over
   * its cap; those were counted where they were given up). Not done: this batch and every batch
   * begun after it are offered again; answers 0. A batch that was already ended (or taken back
   * with an earlier one) is ignored: 0.
   */
  end(batch: Batch, done: boolean): number;
  /** Stops; open batches count as not done. Answers how many points it held that no store kept (lost at the stop). */
  close(): number;
}
