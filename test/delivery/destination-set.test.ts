import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeliveryError } from '../../src/errors.ts';
import { DeliveryQueue } from '../../src/delivery/delivery-queue.ts';
import type { Sender } from '../../src/delivery/sender.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import { DestinationSet } from '../../src/delivery/destination-set.ts';
import { Stats } from '../../src/stats.ts';
import { accounting, FaultyFs } from '../helpers/faulty-fs.ts';
import { drained } from '../helpers/drained.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

class Collector implements Sender {
  readonly maxBatch = 50;
  got: MetricPoint[] = [];
  down = false;
  async send(points: readonly MetricPoint[]): Promise<void> {
    if (this.down) throw new DeliveryError('connection refused', true);
    this.got.push(...points);
  }
  async close(): Promise<void> {}
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('DestinationSet', () => {
  it('a destination whose spool is read-only and whose server is down does not cost another destination a reading', async () => {
    const stats = new Stats();
    const logs = memoryLogger();
    const logger = logs.logger;
    const broken = new Collector();
    broken.down = true;
    const readOnly = new FaultyFs();
    readOnly.failOn('openSync', 'EROFS'); // the directory is there and readable; nothing can be written
    const healthy = new Collector();
    const p = new DestinationSet(
      [
        new DeliveryQueue(broken, { name: 'carbon', maxQueue: 100, spoolDir: join(dir, 'a'), spoolFs: readOnly.fs, backoff: { minMs: 60_000, maxMs: 60_000 }, logger, stats }),
        new DeliveryQueue(healthy, { name: 'ddb', spoolDir: join(dir, 'b'), logger, stats }),
      ],
      logger,
    );
    for (let i = 0; i < 6_000; i++) p.publish({ clientId: 'b', timeMs: i * 1000, values: new Map([['t', i], ['h', 1]]) });
    await drained(p.destinations[1]);
    expect(healthy.got).toHaveLength(12_000);
    for (const name of ['carbon', 'ddb']) {
      const a = accounting(stats, name);
      expect(a.accounted, name).toBe(a.queued);
    }
    // The broken one keeps what memory holds when its spool fails, and counts the rest.
    expect(stats.get('dest.carbon.memory')).toBe(10_000);
    expect(stats.get('dest.carbon.dropped.spool_unwritable')).toBe(2_000);
    expect(logs.lines.filter((l) => l['code'] === 'E_INTERNAL')).toEqual([]);
    await p.close();
  });
});
