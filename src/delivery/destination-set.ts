import type { Reading, ReadingSink } from '../reading.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from 'pino';
import { DeliveryQueue, type DeliveryStatus } from './delivery-queue.ts';
import { pointsOf } from './metric-point.ts';

/**
 * The configured destinations, as the gateway's {@link ReadingSink}: hands every verified
 * reading to every destination's queue, whether or not its rrd write succeeded (the rrd
 * and each destination are independent stores). Whatever one destination does, the
 * others still get the reading.
 */
export class DestinationSet implements ReadingSink {
  readonly destinations: readonly DeliveryQueue[];
  readonly #logger: Logger | undefined;

  constructor(destinations: readonly DeliveryQueue[], logger?: Logger) {
    this.destinations = destinations;
    this.#logger = logger;
  }

  publish(reading: Reading): void {
    if (this.destinations.length === 0) return;
    const points = pointsOf(reading);
    for (const d of this.destinations) {
      try {
        d.enqueue(points);
      } catch (err) {
        // enqueue does not throw; if a bug made it, the next destination must still get its points.
        this.#logger?.error({ code: 'E_INTERNAL', destination: d.name, err }, `destination queue failed: ${errorMessage(err)}`);
      }
    }
  }

  get statuses(): DeliveryStatus[] {
    return this.destinations.map((d) => d.status);
  }

  async close(): Promise<void> {
    await Promise.all(this.destinations.map((d) => d.close()));
  }
}
