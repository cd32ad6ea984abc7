import type { ReadingSink } from '../gateway.ts';
import type { Reading } from '../reading.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { pointsOf } from './metric-point.ts';

/** Hands every stored reading to every destination's queue. */
export class Pipeline implements ReadingSink {
  readonly destinations: readonly DeliveryQueue[];

  constructor(destinations: readonly DeliveryQueue[]) {
    this.destinations = destinations;
  }

  publish(reading: Reading): void {
    if (this.destinations.length === 0) return;
    const points = pointsOf(reading);
    for (const d of this.destinations) d.enqueue(points);
  }

  async idle(timeoutMs?: number): Promise<boolean> {
    const results = await Promise.all(this.destinations.map((d) => d.idle(timeoutMs)));
    return results.every(Boolean);
  }

  async close(): Promise<void> {
    await Promise.all(this.destinations.map((d) => d.close()));
  }
}
