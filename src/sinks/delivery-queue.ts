import type { Logger } from 'pino';
import { DeliveryError, errorMessage } from '../errors.ts';
import type { Stats } from '../stats.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import type { MetricPoint } from './metric-point.ts';
import { Spool } from './spool.ts';

/** How one destination's wire protocol sends a batch. Throws DeliveryError. */
export interface BatchSender {
  /** Points per call at most (pickle: 500). */
  readonly maxBatch: number;
  send(points: readonly MetricPoint[]): Promise<void>;
  close(): Promise<void>;
}

export interface DeliveryOptions {
  /** Name for logs, counters and the spool directory. */
  name: string;
  /** Points held in memory before they go to the spool (or are dropped). Default 10 000. */
  maxQueue?: number;
  /** What to do past `maxQueue`: `spool` (default) or `drop` (every drop counted and logged). */
  overflow?: 'spool' | 'drop';
  /** The spool's directory (required for `spool`). */
  spoolDir?: string;
  backoff?: BackoffOptions;
  logger: Logger;
  stats: Stats;
}

type Source = { kind: 'memory' } | { kind: 'segment'; seq: number };

/**
 * The delivery stage every destination shares: a bounded in-memory queue, an
 * on-disk spool past it, one batch in flight, retries with backoff and jitter,
 * points sent in the order they came. A slow or dead destination only ever makes
 * its own queue grow; `enqueue` never waits.
 */
export class DeliveryQueue {
  readonly name: string;
  readonly #sender: BatchSender;
  readonly #o: Required<Omit<DeliveryOptions, 'spoolDir'>> & { spoolDir?: string };
  readonly #logger: Logger;
  readonly #spool: Spool | undefined;
  #memory: MetricPoint[] = [];
  #head = 0;
  /** The spool segment being delivered, and how far. */
  #segment: { seq: number; points: MetricPoint[]; offset: number } | undefined;
  #sending = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #inFlight: Promise<void> = Promise.resolve();
  #lastDropLog = 0;

  constructor(sender: BatchSender, options: DeliveryOptions) {
    this.name = options.name;
    this.#sender = sender;
    // Field by field: a config that says `queueSize: undefined` must still get the default.
    this.#o = {
      ...options,
      maxQueue: options.maxQueue ?? 10_000,
      overflow: options.overflow ?? 'spool',
      backoff: options.backoff ?? DEFAULT_BACKOFF,
    };
    this.#logger = options.logger.child({ destination: options.name });
    if (this.#o.overflow === 'spool') {
      if (!options.spoolDir) throw new RangeError(`destination ${options.name}: overflow 'spool' needs a spool directory`);
      this.#spool = new Spool(options.spoolDir, this.#logger);
      if (this.#spool.size > 0) this.#logger.info({ points: this.#spool.size }, 'spooled points from an earlier run will be sent first');
    }
    this.#pump();
  }

  /** Points waiting: in memory and on disk. */
  get backlog(): number {
    return this.#memory.length - this.#head + (this.#spool?.size ?? 0);
  }

  /** Queues points; never blocks. */
  enqueue(points: readonly MetricPoint[]): void {
    if (this.#closed || points.length === 0) return;
    this.#count('queued', points.length);
    const inMemory = this.#memory.length - this.#head;
    const spoolBusy = this.#spool !== undefined && !this.#spool.isEmpty;
    if (!spoolBusy && inMemory + points.length <= this.#o.maxQueue) {
      for (const p of points) this.#memory.push(p);
    } else if (this.#spool) {
      // Once anything is on disk, later points go behind it, to keep the order.
      this.#spool.append(points);
      this.#count('spooled', points.length);
    } else {
      this.#count('dropped', points.length);
      const now = Date.now();
      if (now - this.#lastDropLog > 10_000) {
        this.#lastDropLog = now;
        this.#logger.error({ dropped: this.#o.stats.get(`dest.${this.name}.dropped`) }, 'queue full: dropping points (overflow is "drop")');
      }
    }
    this.#pump();
  }

  /** Resolves when nothing is waiting (tests and benchmarks). */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.backlog > 0 || this.#sending) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /**
   * Stops: lets the batch in flight finish (up to `graceMs`), writes what is still in
   * memory to the front of the spool, and closes the connection.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.race([this.#inFlight, new Promise((r) => setTimeout(r, graceMs))]);
    const left = this.#memory.slice(this.#head);
    this.#memory = [];
    this.#head = 0;
    if (left.length > 0) {
      if (this.#spool) {
        this.#spool.prepend(left);
        this.#logger.info({ points: left.length }, 'wrote queued points to the spool for the next start');
      } else {
        this.#count('dropped', left.length);
        this.#logger.error({ dropped: left.length }, 'shutting down with points queued and no spool: dropped');
      }
    }
    this.#spool?.close();
    await this.#sender.close();
  }

  #pump(): void {
    if (this.#sending || this.#closed || this.#timer) return;
    const next = this.#nextBatch();
    if (!next) return;
    const { batch, source } = next;
    this.#sending = true;
    this.#inFlight = this.#sender.send(batch).then(
      () => {
        this.#attempt = 0;
        this.#advance(source, batch.length);
        this.#count('sent', batch.length);
      },
      (err: unknown) => {
        const retryable = !(err instanceof DeliveryError) || err.retryable;
        if (!retryable) {
          // Retrying cannot help (the destination refused these points): log, count, move on.
          this.#advance(source, batch.length);
          this.#count('rejected', batch.length);
          this.#logger.error({ code: 'E_DELIVERY', points: batch.length }, `destination refused points: ${errorMessage(err)}`);
          return;
        }
        const delay = backoffDelay(this.#attempt++, this.#o.backoff);
        this.#count('retries');
        this.#logger.warn({ code: 'E_DELIVERY', retryInMs: delay, backlog: this.backlog }, `delivery failed: ${errorMessage(err)}`);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, delay);
      },
    ).finally(() => {
      this.#sending = false;
      if (!this.#timer) setImmediate(() => this.#pump());
    });
  }

  #nextBatch(): { batch: MetricPoint[]; source: Source } | undefined {
    const max = this.#sender.maxBatch;
    if (this.#head < this.#memory.length) {
      return { batch: this.#memory.slice(this.#head, this.#head + max), source: { kind: 'memory' } };
    }
    if (!this.#spool) return undefined;
    if (!this.#segment) {
      const seg = this.#spool.oldest();
      if (!seg) return undefined;
      this.#segment = { seq: seg.seq, points: seg.points, offset: seg.delivered };
      if (seg.points.length === seg.delivered) {
        this.#spool.markDelivered(seg.seq, seg.points.length, seg.points.length, 0);
        this.#segment = undefined;
        return this.#nextBatch();
      }
    }
    const s = this.#segment;
    return { batch: s.points.slice(s.offset, s.offset + max), source: { kind: 'segment', seq: s.seq } };
  }

  #advance(source: Source, n: number): void {
    if (source.kind === 'memory') {
      this.#head += n;
      if (this.#head > 4096 && this.#head * 2 > this.#memory.length) {
        this.#memory = this.#memory.slice(this.#head);
        this.#head = 0;
      }
      return;
    }
    const s = this.#segment;
    if (!s || s.seq !== source.seq) return;
    s.offset += n;
    this.#spool?.markDelivered(s.seq, s.offset, s.points.length, n);
    if (s.offset >= s.points.length) this.#segment = undefined;
  }

  #count(what: string, by = 1): void {
    this.#o.stats.count(`dest.${this.name}.${what}`, by);
  }
}
