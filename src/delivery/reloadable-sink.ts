import type { Reading, ReadingSink } from '../reading.ts';
import type { DeliveryStatus } from './delivery-queue.ts';
import type { DestinationSet } from './destination-set.ts';
import type { MetricPoint } from './metric-point.ts';

/** Readings held while the destinations are swapped, at most; past it the oldest go. */
const MAX_HELD = 100_000;

/**
 * The destinations, replaceable while the gateway runs (SIGHUP). A swap closes the old set
 * first (its queues go to their spools), then builds the new one (which sends what its
 * spool holds), holding the readings that arrive in between and handing them on after.
 */
export class ReloadableSink implements ReadingSink {
  #current: DestinationSet | undefined;
  #held: Reading[] | undefined;

  constructor(initial: DestinationSet | undefined) {
    this.#current = initial;
  }

  get statuses(): DeliveryStatus[] {
    return this.#current?.statuses ?? [];
  }

  publish(reading: Reading): void {
    if (this.#held === undefined) {
      this.#current?.publish(reading);
      return;
    }
    if (this.#held.length >= MAX_HELD) this.#held.shift();
    this.#held.push(reading);
  }

  /** Points for the destinations of one kind only, unless they are being replaced. */
  publishToKind(kind: string, points: readonly MetricPoint[]): void {
    if (this.#held === undefined) this.#current?.publishToKind(kind, points);
  }

  /** Replaces the destinations with what `build` makes (undefined: none). */
  async replace(build: () => DestinationSet | undefined): Promise<void> {
    this.#held = [];
    try {
      await this.#current?.close();
      this.#current = undefined;
      this.#current = build();
    } finally {
      const held = this.#held;
      this.#held = undefined;
      for (const r of held) this.publish(r);
    }
  }

  async close(): Promise<void> {
    await this.#current?.close();
  }
}
