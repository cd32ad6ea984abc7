import type { DiskBuffer } from './disk-buffer.ts';
import type { MemoryBuffer } from './memory-buffer.ts';
import type { MetricPoint } from './metric-point.ts';
import type { Batch, PointBuffer } from './point-buffer.ts';

/** Points kept in memory when the spool cannot be written, at least. */
export const FALLBACK_MEMORY_POINTS = 10_000;

export interface SpillingEvents {
  /** Points written to the disk (on their way in, when spilled, or at close). */
  onSpooled(points: number): void;
}

/**
 * The delivery policy "memory until trouble, then disk", composed of a {@link MemoryBuffer}
 * and a {@link DiskBuffer}: while the destination keeps up points wait in memory (a burst goes
 * through without touching the disk); once it is in trouble, everything in memory goes to the
 * front of the disk and new points follow it there until the disk is empty again, so a kill
 * loses nothing. Points go to memory again once nothing waits on disk (what is there is being
 * sent), so a destination that recovered does not keep every point going through the disk. A
 * disk that cannot be written leaves points in memory, up to the larger of memory's capacity and
 * {@link FALLBACK_MEMORY_POINTS}. Points are offered oldest first: which of the two holds the
 * older ones is tracked (memory overflowing to disk: memory; memory taking over from a draining
 * disk: the disk); only a disk fault can put newer points in memory before older ones on disk.
 */
export class SpillingBuffer implements PointBuffer {
  readonly memory: MemoryBuffer;
  readonly disk: DiskBuffer;
  readonly #events: SpillingEvents;
  /** Open batches, oldest first, with the buffer each came from. */
  #open: Array<{ batch: Batch; from: PointBuffer }> = [];
  #trouble = false;
  /** Memory's points came after every point on disk (else before them, or one of the two is empty). */
  #memoryNewer = false;

  constructor(memory: MemoryBuffer, disk: DiskBuffer, events: SpillingEvents) {
    this.memory = memory;
    this.disk = disk;
    this.#events = events;
  }

  get length(): number {
    return this.memory.length + this.disk.length;
  }

  add(points: readonly MetricPoint[]): number {
    // Memory may follow the disk only while nothing waits there, and memory is empty or already behind it.
    const diskDone = this.disk.length === 0 || (this.disk.waiting === 0 && (this.memory.length === 0 || this.#memoryNewer));
    const toDisk = this.#trouble || !diskDone || this.memory.length + points.length > this.memory.capacity;
    if (toDisk && this.disk.add(points) === 0) {
      if (this.memory.length > 0) this.#memoryNewer = false;
      this.#events.onSpooled(points.length);
      return 0;
    }
    if (this.memory.length === 0) this.#memoryNewer = this.disk.length > 0;
    // The disk cannot take them now (or they fit in memory): memory, up to its cap.
    return toDisk ? this.memory.addUpTo(points, Math.max(this.memory.capacity, FALLBACK_MEMORY_POINTS)) : this.memory.add(points);
  }

  begin(max: number): Batch | undefined {
    const first: PointBuffer = this.#memoryNewer ? this.disk : this.memory;
    const second: PointBuffer = first === this.memory ? this.disk : this.memory;
    // The second only when the first has nothing it can give now (a disk that cannot be read).
    for (const from of [first, second]) {
      const batch = from.begin(max);
      if (batch === undefined) continue;
      this.#open.push({ batch, from });
      return batch;
    }
    return undefined;
  }

  end(batch: Batch, done: boolean): number {
    const i = this.#open.findIndex((o) => o.batch === batch);
    if (i < 0) return 0;
    if (!done) {
      // Newest first, so each part is taken back before the one it follows.
      for (let j = this.#open.length - 1; j >= i; j--) {
        const o = this.#open[j] as { batch: Batch; from: PointBuffer };
        o.from.end(o.batch, false);
      }
      this.#open.length = i;
      return 0;
    }
    if (i !== 0) throw new Error('SpillingBuffer: batches end in the order they began');
    const o = this.#open.shift() as { from: PointBuffer };
    return o.from.end(batch, true);
  }

  /**
   * The destination is in trouble: open batches are taken back, and what waits in memory goes
   * to the front of the disk (if the disk takes it), where it and later points stay until the
   * disk has been emptied.
   */
  trouble(): void {
    this.#trouble = true;
    this.#takeBackAll();
    this.#spill();
  }

  /** A batch was delivered again: new points may wait in memory once nothing waits on disk. */
  recovered(): void {
    this.#trouble = false;
  }

  close(): number {
    this.#takeBackAll();
    this.#spill();
    const lost = this.memory.close();
    this.disk.close();
    return lost;
  }

  #takeBackAll(): void {
    const first = this.#open[0];
    if (first !== undefined) this.end(first.batch, false);
  }

  #spill(): void {
    if (this.memory.length === 0) return;
    const points = this.memory.peekAll();
    const kept = this.#memoryNewer ? this.disk.add(points) === 0 : this.disk.addFront(points);
    if (!kept) return;
    this.memory.takeAll();
    this.#memoryNewer = false;
    this.#events.onSpooled(points.length);
  }
}
