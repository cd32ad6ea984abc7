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
 * loses nothing. A disk that cannot be written leaves points in memory, up to the larger of
 * memory's capacity and {@link FALLBACK_MEMORY_POINTS}. Memory's points are offered before the
 * disk's: they are there only while the disk is empty, or cannot be written.
 */
export class SpillingBuffer implements PointBuffer {
  readonly memory: MemoryBuffer;
  readonly disk: DiskBuffer;
  readonly #events: SpillingEvents;
  /** Open batches, oldest first, with the buffer each came from. */
  #open: Array<{ batch: Batch; from: PointBuffer }> = [];
  #trouble = false;

  constructor(memory: MemoryBuffer, disk: DiskBuffer, events: SpillingEvents) {
    this.memory = memory;
    this.disk = disk;
    this.#events = events;
  }

  get length(): number {
    return this.memory.length + this.disk.length;
  }

  /** Whether points wait that cannot be read now (the disk failed while reading). */
  get stuck(): boolean {
    return this.#open.length === 0 && this.memory.waiting === 0 && this.disk.stuck;
  }

  add(points: readonly MetricPoint[]): number {
    const toDisk = this.#trouble || this.disk.length > 0 || this.memory.length + points.length > this.memory.capacity;
    if (toDisk && this.disk.add(points) === 0) {
      this.#events.onSpooled(points.length);
      return 0;
    }
    // The disk cannot take them now (or they fit in memory): memory, up to its cap.
    return toDisk ? this.memory.addUpTo(points, Math.max(this.memory.capacity, FALLBACK_MEMORY_POINTS)) : this.memory.add(points);
  }

  begin(max: number): Batch | undefined {
    const from: PointBuffer = this.memory.waiting > 0 ? this.memory : this.disk;
    const batch = from.begin(max);
    if (batch !== undefined) this.#open.push({ batch, from });
    return batch;
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

  /** The destination took a batch again: new points may wait in memory once the disk is empty. */
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
    if (!this.disk.addFront(points)) return;
    this.memory.takeAll();
    this.#events.onSpooled(points.length);
  }
}
