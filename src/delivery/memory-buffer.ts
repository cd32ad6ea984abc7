import type { MetricPoint } from './metric-point.ts';
import type { Batch, PointBuffer } from './point-buffer.ts';

class MemoryBatch implements Batch {
  readonly points: readonly MetricPoint[];
  /** Index of its first point, counted from the first point this buffer ever held. */
  readonly start: number;

  constructor(points: readonly MetricPoint[], start: number) {
    this.points = points;
    this.start = start;
  }
}

/** Past this many points given up at the front, the array is cut (amortised: not on every batch). */
const COMPACT_AFTER = 4096;

/** A {@link PointBuffer} in memory, up to `capacity` points (open batches included). */
export class MemoryBuffer implements PointBuffer {
  readonly capacity: number;
  #points: MetricPoint[] = [];
  /** Points cut off the front of `#points`: absolute index = `#cut` + array index. */
  #cut = 0;
  /** Absolute index of the first point held. */
  #head = 0;
  /** Absolute index of the first point in no open batch. */
  #offered = 0;
  /** Open batches, oldest first. */
  #open: MemoryBatch[] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.#cut + this.#points.length - this.#head;
  }

  /** Points in no open batch. */
  get waiting(): number {
    return this.#cut + this.#points.length - this.#offered;
  }

  add(points: readonly MetricPoint[]): number {
    return this.addUpTo(points, this.capacity);
  }

  /** {@link add} with another cap for this call (a spool that cannot be written lets memory hold more). */
  addUpTo(points: readonly MetricPoint[], cap: number): number {
    const room = Math.max(0, Math.min(points.length, cap - this.length));
    for (let i = 0; i < room; i++) this.#points.push(points[i] as MetricPoint);
    return points.length - room;
  }

  begin(max: number): Batch | undefined {
    const n = Math.min(max, this.waiting);
    if (n <= 0) return undefined;
    const from = this.#offered - this.#cut;
    const batch = new MemoryBatch(this.#points.slice(from, from + n), this.#offered);
    this.#offered += n;
    this.#open.push(batch);
    return batch;
  }

  end(batch: Batch, done: boolean): number {
    const i = this.#open.indexOf(batch as MemoryBatch);
    if (i < 0) return 0;
    const b = this.#open[i] as MemoryBatch;
    if (!done) {
      this.#offered = b.start;
      this.#open.length = i;
      return 0;
    }
    if (i !== 0) throw new Error('MemoryBuffer: batches end in the order they began');
    this.#open.shift();
    this.#head += b.points.length;
    this.#compact();
    return b.points.length;
  }

  /** Every point held, oldest first, open batches taken back; the buffer is left empty. */
  takeAll(): MetricPoint[] {
    const all = this.#points.slice(this.#head - this.#cut);
    this.#points = [];
    this.#cut = this.#head = this.#offered = 0;
    this.#open = [];
    return all;
  }

  /** Every point held, oldest first, without taking them. */
  peekAll(): MetricPoint[] {
    return this.#points.slice(this.#head - this.#cut);
  }

  close(): number {
    const lost = this.length;
    this.takeAll();
    return lost;
  }

  #compact(): void {
    const gone = this.#head - this.#cut;
    if (gone > COMPACT_AFTER && gone * 2 > this.#points.length) {
      this.#points = this.#points.slice(gone);
      this.#cut = this.#head;
    }
  }
}
