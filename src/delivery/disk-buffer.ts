import type { MetricPoint } from './metric-point.ts';
import type { Batch, PointBuffer } from './point-buffer.ts';
import type { Spool, SpoolSegment } from './spool.ts';

class DiskBatch implements Batch {
  readonly points: readonly MetricPoint[];
  readonly seq: number;
  /** The segment's lines this batch covers: [from, to). */
  readonly from: number;
  readonly to: number;

  constructor(points: readonly MetricPoint[], seq: number, from: number, to: number) {
    this.points = points;
    this.seq = seq;
    this.from = from;
    this.to = to;
  }
}

/**
 * A {@link PointBuffer} on a {@link Spool}: points stay in their segment files until their batch
 * ends as done, when the spool records the progress; so a kill at any moment loses nothing on
 * disk, and a restart sends again at most the batches that were open. A batch never spans two
 * segments. The segment being read is kept in memory while batches come from it.
 */
export class DiskBuffer implements PointBuffer {
  readonly spool: Spool;
  /** Open batches, oldest first. */
  #open: DiskBatch[] = [];
  /** Points in open batches. */
  #openPoints = 0;
  /** The segment last read, while batches are taken from it. */
  #loaded: SpoolSegment | undefined;

  constructor(spool: Spool) {
    this.spool = spool;
  }

  get length(): number {
    return this.spool.size;
  }

  /** Points on disk in no open batch. */
  get waiting(): number {
    return this.spool.size - this.#openPoints;
  }

  add(points: readonly MetricPoint[]): number {
    return this.spool.append(points) ? 0 : points.length;
  }

  /** Puts points in front of everything on disk (older points: what waited in memory); false if the disk cannot take them. */
  addFront(points: readonly MetricPoint[]): boolean {
    if (this.#open.length > 0) throw new Error('DiskBuffer: nothing goes in front of open batches');
    return this.spool.prepend(points);
  }

  begin(max: number): Batch | undefined {
    const last = this.#open[this.#open.length - 1];
    for (const info of this.spool.pending) {
      if (last !== undefined && info.seq < last.seq) continue;
      const from = Math.max(info.delivered, last !== undefined && info.seq === last.seq ? last.to : 0);
      if (from >= info.points) continue;
      const seg = this.#segment(info.seq, info.points);
      if (seg === undefined) {
        if (this.spool.faulty) return undefined;
        continue; // gone behind the spool's back (counted as lost): the next one
      }
      const start = from - seg.first;
      const points = seg.points.slice(start, start + max);
      if (points.length === 0) continue; // lines lost to damage since the listing
      const batch = new DiskBatch(points, seg.seq, from, from + points.length);
      this.#open.push(batch);
      this.#openPoints += points.length;
      this.#hold();
      return batch;
    }
    return undefined;
  }

  end(batch: Batch, done: boolean): number {
    const i = this.#open.indexOf(batch as DiskBatch);
    if (i < 0) return 0;
    const b = this.#open[i] as DiskBatch;
    if (!done) {
      for (const taken of this.#open.splice(i)) this.#openPoints -= taken.points.length;
      this.#hold();
      return 0;
    }
    if (i !== 0) throw new Error('DiskBuffer: batches end in the order they began');
    this.#open.shift();
    this.#openPoints -= b.points.length;
    this.#hold();
    const left = this.spool.markDelivered(b.seq, b.to);
    if (this.#loaded?.seq === b.seq && !this.spool.pending.some((s) => s.seq === b.seq)) this.#loaded = undefined;
    return left;
  }

  /** The segments with open batches must not be dropped to make room: the oldest is held. */
  #hold(): void {
    this.spool.hold(this.#open[0]?.seq);
  }

  close(): number {
    this.#open = [];
    this.#openPoints = 0;
    this.#loaded = undefined;
    this.spool.close();
    return 0;
  }

  /** The segment's points, read again when it grew (it may be the one being written). */
  #segment(seq: number, lines: number): SpoolSegment | undefined {
    const s = this.#loaded;
    if (s !== undefined && s.seq === seq && s.first + s.points.length >= lines) return s;
    this.#loaded = this.spool.read(seq);
    return this.#loaded;
  }
}
