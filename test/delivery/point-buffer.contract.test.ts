import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBuffer } from '../../src/delivery/disk-buffer.ts';
import { MemoryBuffer } from '../../src/delivery/memory-buffer.ts';
import type { MetricPoint } from '../../src/delivery/metric-point.ts';
import type { PointBuffer } from '../../src/delivery/point-buffer.ts';
import { SpillingBuffer } from '../../src/delivery/spilling-buffer.ts';
import { Spool } from '../../src/delivery/spool.ts';
import { FaultyFs } from '../helpers/faulty-fs.ts';
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

  it('takes new points in memory again once nothing waits on disk, and offers the disk’s older points first', () => {
    const { b } = make();
    b.add(pts(0, 2));
    b.trouble();
    const onDisk = b.begin(10); // the disk's points are being sent: nothing waits there
    b.recovered();
    b.add(pts(2, 2));
    expect([b.memory.length, b.disk.length]).toEqual([2, 2]);
    if (!onDisk) throw new Error('a batch expected');
    b.end(onDisk, false); // taken back: the disk's points wait again, older than memory's
    expect(values(b.begin(10)?.points)).toEqual([0, 1]);
    expect(values(b.begin(10)?.points)).toEqual([2, 3]);
  });

  it('spills memory behind the disk when memory holds the newer points', () => {
    const { b } = make();
    b.add(pts(0, 2));
    b.trouble();
    const first = b.begin(10);
    b.recovered();
    b.add(pts(2, 2)); // memory, newer than the disk's
    if (!first) throw new Error('a batch expected');
    b.trouble(); // both taken back; memory goes behind what is on disk
    expect(b.memory.length).toBe(0);
    expect([...values(b.begin(10)?.points), ...values(b.begin(10)?.points)]).toEqual([0, 1, 2, 3]);
  });

  it('keeps points in memory, past its capacity, while the disk cannot take them', () => {
    const spooled: number[] = [];
    const disk = new DiskBuffer(spool());
    disk.spool.append = (): boolean => false; // a full disk
    const b = new SpillingBuffer(new MemoryBuffer(2), disk, { onSpooled: (n) => spooled.push(n) });
    expect(b.add(pts(0, 5))).toBe(0); // over memory's 2: to disk, which refuses: memory takes them
    expect(b.memory.length).toBe(5);
    expect(spooled).toEqual([]);
  });
});

describe('DiskBuffer and the spool’s cap', () => {
  it('never lets the cap drop the segment its open batches come from', () => {
    // The largest of the segments below (the values' digits differ).
    const segment = pts(15000, 5000).reduce((n, p) => n + Buffer.byteLength(`${JSON.stringify([p.clientId, p.source, p.value, p.timeMs])}\n`), 0);
    const drops: Array<[string, number]> = [];
    const disk = new DiskBuffer(new Spool({ dir, maxBytes: segment * 3 + 100, logger: memoryLogger().logger, onDrop: (r, n) => drops.push([r, n]) }));
    for (let i = 0; i < 3; i++) disk.add(pts(i * 5000, 5000));
    const open = disk.begin(10);
    disk.add(pts(15000, 5000)); // over the cap: the second segment goes, not the first (read) nor the third (written)
    expect(values(open?.points)[0]).toBe(0);
    expect(drops).toEqual([['spool_full', 5000]]);
    if (!open) throw new Error('a batch expected');
    expect(disk.end(open, true)).toBe(10);
    expect(values(disk.begin(10)?.points)[0]).toBe(10);
  });

  it('answers 0 for a batch whose segment the cap dropped meanwhile: its points were counted as dropped there', () => {
    const segment = pts(0, 5000).reduce((n, p) => n + Buffer.byteLength(`${JSON.stringify([p.clientId, p.source, p.value, p.timeMs])}\n`), 0);
    const disk = new DiskBuffer(new Spool({ dir, maxBytes: segment * 2 + 100, logger: memoryLogger().logger, onDrop: () => undefined }));
    disk.add(pts(0, 5000));
    disk.add(pts(5000, 5000));
    const first = disk.begin(5000);
    const second = disk.begin(10); // from the second segment
    if (!first || !second) throw new Error('two batches expected');
    disk.spool.hold(undefined); // as if nobody read: the cap may take the oldest it can
    disk.add(pts(10000, 5000));
    expect(disk.end(first, true) + disk.end(second, true)).toBeLessThan(5010);
  });
});

describe('MemoryBuffer over many batches', () => {
  it('gives every point once, in order, as it sheds what was delivered', () => {
    const b = new MemoryBuffer(100_000);
    const got: number[] = [];
    for (let i = 0; i < 20; i++) {
      b.add(pts(i * 1000, 1000));
      for (let batch = b.begin(300); batch; batch = b.begin(300)) {
        got.push(...values(batch.points));
        b.end(batch, true);
      }
    }
    expect(got).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(b.length).toBe(0);
  });
});

describe('PointBuffer implementations, edge by edge', () => {
  it.each(kinds)('$name: refuses to end a later batch as done before an earlier one', (kind) => {
    const b = kind.make();
    b.add(pts(0, 4));
    b.begin(2);
    const second = b.begin(2);
    if (!second) throw new Error('a batch expected');
    expect(() => b.end(second, true)).toThrow(/order/);
  });

  it('MemoryBuffer: takes all and peeks at only the points not yet delivered', () => {
    const b = new MemoryBuffer(100);
    b.add(pts(0, 5));
    const first = b.begin(2);
    if (!first) throw new Error('a batch expected');
    b.end(first, true);
    expect(values(b.peekAll())).toEqual([2, 3, 4]);
    expect(values(b.takeAll())).toEqual([2, 3, 4]);
  });

  it('MemoryBuffer: peeks and takes the right points after it has shed thousands', () => {
    const b = new MemoryBuffer(100_000);
    b.add(pts(0, 6000));
    for (let i = 0; i < 5; i++) {
      const batch = b.begin(1000);
      if (!batch) throw new Error('a batch expected');
      b.end(batch, true);
    }
    expect(values(b.peekAll())).toEqual(Array.from({ length: 1000 }, (_, i) => 5000 + i));
    expect(values(b.takeAll())).toEqual(Array.from({ length: 1000 }, (_, i) => 5000 + i));
  });

  it('MemoryBuffer: works as new after takeAll, batches begun before it forgotten', () => {
    const b = new MemoryBuffer(100);
    b.add(pts(0, 3));
    b.begin(2);
    b.takeAll();
    b.add(pts(10, 2));
    const batch = b.begin(5);
    if (!batch) throw new Error('a batch expected');
    expect(values(batch.points)).toEqual([10, 11]);
    expect(b.end(batch, true)).toBe(2);
  });

  it('DiskBuffer: puts nothing in front of open batches', () => {
    const d = new DiskBuffer(spool());
    d.add(pts(0, 2));
    d.begin(1);
    expect(() => d.addFront(pts(9, 1))).toThrow(/open batches/);
  });

  it('DiskBuffer: counts as waiting only the points in no open batch', () => {
    const d = new DiskBuffer(spool());
    d.add(pts(0, 5));
    const a = d.begin(2);
    const b = d.begin(2);
    if (!a || !b) throw new Error('two batches expected');
    expect(d.waiting).toBe(1);
    d.end(a, true);
    expect([d.length, d.waiting]).toEqual([3, 1]);
    d.end(b, false);
    expect(d.waiting).toBe(3);
  });

  it('DiskBuffer: does not offer again a segment whose points are all in open batches', () => {
    const s = spool();
    s.append(pts(0, 2));
    s.prepend(pts(-2, 2)); // an older segment
    const d = new DiskBuffer(s);
    expect(values(d.begin(10)?.points)).toEqual([-2, -1]);
    expect(values(d.begin(10)?.points)).toEqual([0, 1]);
    expect(d.begin(10)).toBeUndefined();
  });

  it('DiskBuffer: goes on to the next segment when one disappeared behind its back', () => {
    const s = spool();
    s.append(pts(0, 2));
    s.prepend(pts(-2, 2));
    const oldest = s.pending[0]?.seq ?? 0;
    unlinkSync(join(dir, `seg-${String(oldest).padStart(13, '0')}.jsonl`));
    expect(values(new DiskBuffer(s).begin(10)?.points)).toEqual([0, 1]);
  });

  it('DiskBuffer: starts after the lines a segment has blanked as delivered', () => {
    writeFileSync(join(dir, 'seg-0001000000001.jsonl'), `   \n   \n${JSON.stringify(['b', 't', 2, 1])}\n${JSON.stringify(['b', 't', 3, 1])}\n`);
    const d = new DiskBuffer(spool());
    expect(values(d.begin(10)?.points)).toEqual([2, 3]);
  });

  it('DiskBuffer: reads a segment once while batches come from it, and again only when it grew', () => {
    const f = new FaultyFs();
    const s = new Spool({ dir, logger: memoryLogger().logger, onDrop: () => undefined, fs: f.fs });
    const d = new DiskBuffer(s);
    d.add(pts(0, 6));
    const reads = (): number => f.calls.filter((c) => c.op === 'readFileSync').length;
    const before = reads();
    for (let i = 0; i < 3; i++) {
      const batch = d.begin(2);
      if (!batch) throw new Error('a batch expected');
      if (i < 2) d.end(batch, true);
    }
    expect(reads()).toBe(before + 1);
    d.add(pts(6, 1));
    expect(values(d.begin(10)?.points)).toEqual([6]);
    expect(reads()).toBe(before + 2);
  });

  it('DiskBuffer: closes its spool, so no file is left open', () => {
    const f = new FaultyFs();
    const d = new DiskBuffer(new Spool({ dir, logger: memoryLogger().logger, onDrop: () => undefined, fs: f.fs }));
    d.add(pts(0, 3));
    const batch = d.begin(1);
    if (!batch) throw new Error('a batch expected');
    d.end(batch, true);
    expect(d.close()).toBe(0);
    expect([...f.open.values()]).toEqual([]);
  });

  it('SpillingBuffer: spools nothing when trouble comes with memory empty, and sends to disk in trouble', () => {
    const spooled: number[] = [];
    const b = new SpillingBuffer(new MemoryBuffer(100), new DiskBuffer(spool()), { onSpooled: (n) => spooled.push(n) });
    b.trouble();
    expect(spooled).toEqual([]);
    b.add(pts(0, 2));
    expect([b.memory.length, b.disk.length]).toEqual([0, 2]);
    expect(spooled).toEqual([2]);
  });
});
