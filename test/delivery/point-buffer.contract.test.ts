import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBuffer } from '../../src/delivery/disk-buffer.ts';
import { MemoryBuffer } from '../../src/delivery/memory-buffer.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import type { PointBuffer } from '../../src/delivery/point-buffer.ts';
import { SpillingBuffer } from '../../src/delivery/spilling-buffer.ts';
import { Spool } from '../../src/delivery/spool.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

// One contract, every implementation (as Telegraf's buffer_suite_test.go runs over its memory
// and disk buffers): what a delivery queue may rely on, whichever buffer it has.

const pts = (from: number, n: number): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ clientId: 'b', source: 't', value: from + i, timeMs: 1000 + i }));
const values = (points: readonly MetricPoint[] | undefined): number[] => (points ?? []).map((p) => p.value as number);

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const spool = (): Spool => new Spool({ dir, logger: memoryLogger().logger, onDrop: () => undefined });

interface Kind {
  name: string;
  make: () => PointBuffer;
  /** A new buffer on the same store, as after a kill; undefined where nothing survives one. */
  reopen?: () => PointBuffer;
}

const kinds: Kind[] = [
  { name: 'MemoryBuffer', make: () => new MemoryBuffer(1_000) },
  { name: 'DiskBuffer', make: () => new DiskBuffer(spool()), reopen: () => new DiskBuffer(spool()) },
  {
    name: 'SpillingBuffer',
    make: () => new SpillingBuffer(new MemoryBuffer(1_000), new DiskBuffer(spool()), { onSpooled: () => undefined }),
  },
];

describe.each(kinds)('PointBuffer contract: $name', (kind) => {
  it('gives points back in the order they were added, in batches of at most max', () => {
    const b = kind.make();
    b.add(pts(0, 5));
    b.add(pts(5, 2));
    const first = b.begin(3);
    const second = b.begin(3);
    const third = b.begin(3);
    expect([values(first?.points), values(second?.points), values(third?.points)]).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(b.begin(3)).toBeUndefined();
  });

  it('keeps a batch’s points, counted in its length, until the batch is ended as done', () => {
    const b = kind.make();
    b.add(pts(0, 4));
    const batch = b.begin(2);
    expect(b.length).toBe(4);
    expect(b.end(batch as NonNullable<typeof batch>, true)).toBe(2);
    expect(b.length).toBe(2);
    expect(values(b.begin(10)?.points)).toEqual([2, 3]);
  });

  it('offers a batch ended as not done again, with every batch begun after it, oldest first', () => {
    const b = kind.make();
    b.add(pts(0, 6));
    const first = b.begin(2);
    const second = b.begin(2);
    const third = b.begin(2);
    if (!first || !second || !third) throw new Error('three batches expected');
    expect(b.end(first, true)).toBe(2);
    expect(b.end(second, false)).toBe(0);
    expect(b.length).toBe(4);
    expect(values(b.begin(10)?.points)).toEqual([2, 3, 4, 5]);
    // The third was taken back with the second: ending it now changes nothing.
    expect(b.end(third, true)).toBe(0);
    expect(b.length).toBe(4);
  });

  it('ignores a batch that was already ended', () => {
    const b = kind.make();
    b.add(pts(0, 2));
    const batch = b.begin(2);
    if (!batch) throw new Error('a batch expected');
    expect(b.end(batch, true)).toBe(2);
    expect(b.end(batch, true)).toBe(0);
    expect(b.end(batch, false)).toBe(0);
    expect(b.length).toBe(0);
  });

  it('takes points added while batches are open behind them', () => {
    const b = kind.make();
    b.add(pts(0, 2));
    const batch = b.begin(10);
    b.add(pts(2, 2));
    if (!batch) throw new Error('a batch expected');
    expect(values(batch.points)).toEqual([0, 1]);
    expect(values(b.begin(10)?.points)).toEqual([2, 3]);
    expect(b.end(batch, true)).toBe(2);
    expect(b.length).toBe(2);
  });

  it('answers that it took everything it could (0 left over) while it has room', () => {
    const b = kind.make();
    expect(b.add(pts(0, 100))).toBe(0);
    expect(b.length).toBe(100);
  });

  it.runIf(kind.reopen !== undefined)('after a kill, gives back every point whose batch was not ended as done, open ones included', () => {
    const b = kind.make();
    b.add(pts(0, 6));
    const first = b.begin(2);
    b.begin(2); // open at the kill
    if (!first) throw new Error('a batch expected');
    b.end(first, true);
    // no close: a kill
    const again = (kind.reopen as () => PointBuffer)();
    expect(again.length).toBe(4);
    expect(values(again.begin(10)?.points)).toEqual([2, 3, 4, 5]);
  });
});

describe('SpillingBuffer policy', () => {
  const make = (capacity = 1_000): { b: SpillingBuffer; spooled: number[] } => {
    const spooled: number[] = [];
    const b = new SpillingBuffer(new MemoryBuffer(capacity), new DiskBuffer(spool()), { onSpooled: (n) => spooled.push(n) });
    return { b, spooled };
  };

  it('keeps points in memory while the destination keeps up', () => {
    const { b, spooled } = make();
    b.add(pts(0, 10));
    expect(b.memory.length).toBe(10);
    expect(b.disk.length).toBe(0);
    expect(spooled).toEqual([]);
  });

  it('in trouble, takes open batches back and moves memory to the front of the disk; new points follow them there', () => {
    const { b, spooled } = make();
    b.add(pts(0, 4));
    b.begin(2); // written, waiting for its window, when the destination broke
    b.trouble();
    b.add(pts(4, 1));
    expect(b.memory.length).toBe(0);
    expect(b.disk.length).toBe(5);
    expect(spooled).toEqual([4, 1]);
    expect([...values(b.begin(10)?.points), ...values(b.begin(10)?.points)]).toEqual([0, 1, 2, 3, 4]);
  });

  it('goes to disk past memory’s capacity, and stays there until the disk is empty', () => {
    const { b } = make(3);
    b.add(pts(0, 2));
    b.add(pts(2, 2)); // 4 > 3
    expect([b.memory.length, b.disk.length]).toEqual([2, 2]);
    b.add(pts(4, 1)); // memory has room again, but the disk holds older points
    expect(b.disk.length).toBe(3);
  });

  it('at close writes memory, open batches included, to the front of the disk, and a new buffer on it sends them first', () => {
    const { b, spooled } = make();
    b.add(pts(0, 3));
    b.begin(3);
    expect(b.close()).toBe(0);
    expect(spooled).toEqual([3]);
    const again = new DiskBuffer(spool());
    expect(values(again.begin(10)?.points)).toEqual([0, 1, 2]);
  });
});
