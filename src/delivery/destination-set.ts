import type { Reading, ReadingSink } from '../reading.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from 'pino';
import { DeliveryQueue, type DeliveryStatus } from './delivery-queue.ts';
import { pointsOf, type MetricPoint } from './metric-point.ts';

/**
 * The configured destinations, as the gateway's {@link ReadingSink}: hands every verified
 * reading to every destination's queue, whether or not its rrd write succeeded (the rrd
 * and each destination are independent stores). Whatever one destination does, the
 * others still get the reading.
 */
export class DestinationSet implements ReadingSink {
  readonly destinations: readonly DeliveryQueue[];
  readonly #logger: Logger | undefined;
  /** Each queue's destination kind (`graphite`, …), where known. */
  readonly #kinds: ReadonlyMap<DeliveryQueue, string>;

  constructor(destinations: readonly DeliveryQueue[], logger?: Logger, kinds: ReadonlyMap<DeliveryQueue, string> = new Map()) {
    this.destinations = destinations;
    this.#logger = logger;
    this.#kinds = kinds;
  }

  /** Hands points to the destinations of one kind only (the gateway's own counters go to Graphite). */
  publishToKind(kind: string, points: readonly MetricPoint[]): void {
    for (const d of this.destinations) if (this.#kinds.get(d) === kind) d.enqueue(points);
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
