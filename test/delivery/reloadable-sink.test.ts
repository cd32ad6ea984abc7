import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import { DestinationSet } from '../../src/delivery/destination-set.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import { ReloadableSink } from '../../src/delivery/reloadable-sink.ts';
import type { Sender } from '../../src/delivery/sender.ts';
import { DeliveryError } from '../../src/errors.ts';
import { VerifiedReading } from '../../src/reading.ts';
import { Stats } from '../../src/stats.ts';
import { accounting } from '../helpers/faulty-fs.ts';
import { drained } from '../helpers/drained.ts';
import { memoryLogger, tempDir, waitFor } from '../helpers/fixtures.ts';

/** A destination whose close the test lets finish, and that can be down. */
class SwapSender implements Sender {
  readonly maxBatch = 100;
  received: number[] = [];
  down = false;
  closed = false;
  #letClose: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  async send(points: readonly MetricPoint[]): Promise<void> {
    if (this.down) throw new DeliveryError('connection refused', true);
    this.received.push(...points.map((p) => p.value as number));
  }

  /** Close waits for {@link finishClose} once `slowClose` was called. */
  slowClose(): void {
    this.#closing = new Promise((r) => (this.#letClose = r));
  }

  finishClose(): void {
    this.#letClose?.();
  }

  async close(): Promise<void> {
    await this.#closing;
    this.closed = true;
  }
}

const reading = (v: number): VerifiedReading => new VerifiedReading('b', 1_000 + v, new Map([['t', v]]));

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

function setOf(sender: SwapSender, stats: Stats): { set: DestinationSet; queue: DeliveryQueue } {
  const queue = new DeliveryQueue(sender, { name: 'd', spoolDir: dir, backoff: { minMs: 60_000, maxMs: 60_000 }, logger: memoryLogger().logger, stats });
  return { set: new DestinationSet([queue]), queue };
}

describe('ReloadableSink (SIGHUP)', () => {
  it('hands the readings that arrive while the destinations are swapped to the new ones', async () => {
    const stats = new Stats();
    const old = new SwapSender();
    const sink = new ReloadableSink(setOf(old, stats).set);
    sink.publish(reading(0));
    await waitFor(() => old.received.length === 1, 2000, 'first reading at the old set');
    old.slowClose();
    const next = new SwapSender();
    let nextQueue: DeliveryQueue | undefined;
    const swapped = sink.replace(() => {
      const built = setOf(next, stats);
      nextQueue = built.queue;
      return built.set;
    });
    for (let v = 1; v <= 3; v++) sink.publish(reading(v)); // while the old set is still closing
    old.finishClose();
    await swapped;
    await drained(nextQueue);
    expect(old.received).toEqual([0]);
    expect(next.received).toEqual([1, 2, 3]);
    expect(accounting(stats, 'd')).toEqual({ queued: 4, accounted: 4 });
    await sink.close();
  });

  it('closes the old destinations before the new ones open their spool, which then sends what the old ones left there', async () => {
    const stats = new Stats();
    const old = new SwapSender();
    old.down = true;
    const first = setOf(old, stats);
    const sink = new ReloadableSink(first.set);
    sink.publish(reading(0));
    sink.publish(reading(1));
    await waitFor(() => stats.get('dest.d.retries') >= 1, 2000, 'the old destination down');
    const next = new SwapSender();
    let nextQueue: DeliveryQueue | undefined;
    await sink.replace(() => {
      expect(old.closed).toBe(true); // its spool is closed before another queue opens the directory
      const built = setOf(next, stats);
      nextQueue = built.queue;
      return built.set;
    });
    await drained(nextQueue);
    expect(next.received).toEqual([0, 1]);
    // The old queue is closed: what reaches it now is counted as stopped, not sent twice.
    first.queue.enqueue([{ clientId: 'b', source: 't', value: 9, timeMs: 1 }]);
    expect(stats.get('dest.d.dropped.stopped')).toBe(1);
    expect(accounting(stats, 'd')).toEqual({ queued: 3, accounted: 3 });
    await sink.close();
  });
});
