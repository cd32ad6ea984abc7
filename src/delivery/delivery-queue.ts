import type { Logger } from 'pino';
import { ConfigError, DeliveryError, errorMessage } from '../errors.ts';
import { logThrottle } from '../log-limiter.ts';
import type { Stats } from '../stats.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../backoff.ts';
import { DiskBuffer } from './disk-buffer.ts';
import { MemoryBuffer } from './memory-buffer.ts';
import type { MetricPoint } from './metric-point.ts';
import type { Batch, PointBuffer } from './point-buffer.ts';
import type { Sender, SendResult, UnsentReason } from './sender.ts';
import { FALLBACK_MEMORY_POINTS, SpillingBuffer } from './spilling-buffer.ts';
import { Spool, type SpoolDropReason, type SpoolFs } from './spool.ts';

/**
 * Points in memory while the destination keeps up, unless configured: room for a burst of
 * 200,000 (thousands of boards coming back at once) without writing it through the disk while
 * the destination takes it all. About 15 MB when full (a point is ~75 bytes); a destination that
 * is down sends everything to the spool anyway.
 */
export const DEFAULT_QUEUE_SIZE = 200_000;

/** Why a point was given up; each has a counter `dest.<name>.dropped.<reason>`. */
export type DropReason =
  /** overflow "drop" and the in-memory queue was full */
  | 'queue_full'
  /** the spool could not be written and memory was full */
  | 'spool_unwritable'
  /** still queued at shutdown with no spool to keep it */
  | 'stopped'
  /** a value the destination's wire format cannot carry */
  | UnsentReason
  | SpoolDropReason;

/** How soon a queue whose spool could not be read tries again. */
const SPOOL_RETRY_MS = 5_000;

/**
 * Points in the spool at a queue's close, by the Stats that counted them as queued and the
 * spool's directory: the next queue of that directory in this process (a SIGHUP rebuilds the
 * destinations) does not count them as queued a second time.
 */
const handedOver = new WeakMap<Stats, Map<string, number>>();

export interface DeliveryOptions {
  /** Name for logs, counters and the spool directory. */
  name: string;
  /** Points held in memory while the destination keeps up. Default {@link DEFAULT_QUEUE_SIZE}. */
  maxQueue?: number;
  /** What to do past `maxQueue` or while the destination is down: `spool` (default) or `drop`. */
  overflow?: 'spool' | 'drop';
  /** The spool's directory (required for `spool`). */
  spoolDir?: string;
  /** The spool's cap in bytes (default 256 MiB); past it the oldest points are dropped. */
  spoolMaxBytes?: number;
  /** The spool's file calls (tests inject faults). */
  spoolFs?: SpoolFs;
  backoff?: BackoffOptions;
  logger: Logger;
  stats: Stats;
  now?: () => number;
}

/** A batch that left for the destination, until its delivery rule settles. */
interface Written {
  readonly batch: Batch;
  readonly unsent: number;
  readonly reason: DropReason;
  /** Refused for good: it leaves the buffer counted as rejected. */
  readonly rejected: boolean;
  state: 'waiting' | 'done' | 'gone';
}

/** A destination's state for the status page and `/healthz`. */
export interface DeliveryStatus {
  readonly name: string;
  /** Points waiting, in memory and in the spool. */
  readonly backlog: number;
  readonly spoolPending: number;
  readonly spoolBytes: number;
  /** Since when the destination has been unreachable (Unix ms), if it is. */
  readonly downSinceMs: number | undefined;
  readonly lastError: { readonly message: string; readonly atMs: number } | undefined;
}

/**
 * The delivery stage every destination shares: a pump that takes batches from a point buffer
 * (src/delivery/point-buffer.ts), one write at a time, in order, with retries, backoff and
 * jitter; a batch leaves the buffer only when its destination's delivery rule holds (the
 * sender's `SendResult.delivered`). With `overflow: "spool"` the buffer is memory until the
 * destination is in trouble, then disk ({@link SpillingBuffer}), so killing the gateway while a
 * destination is down loses nothing, nor what was written in the resend window before it went
 * down. Every point is accounted for: at any moment
 * `queued = sent + rejected + dropped + memory + spool_pending` (counters and gauges under
 * `dest.<name>.`). Nothing here throws into the caller.
 */
export class DeliveryQueue {
  readonly name: string;
  readonly #sender: Sender;
  readonly #o: Required<Omit<DeliveryOptions, 'spoolDir' | 'spoolMaxBytes' | 'spoolFs'>>;
  readonly #logger: Logger;
  readonly #buffer: PointBuffer;
  /** The buffer when it has a disk. */
  readonly #spilling: SpillingBuffer | undefined;
  readonly #spool: Spool | undefined;
  /** Batches written, oldest first, until their delivery rule settles. */
  #written: Written[] = [];
  /** Points in `#written`: a window's worth is bounded like memory. */
  #unsettled = 0;
  readonly #maxUnsettled: number;
  #writing = false;
  /** Bumped whenever batches are taken back: a write begun before then no longer has its batch. */
  #epoch = 0;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #inFlight: Promise<void> = Promise.resolve();
  /** Set while the destination is unreachable: since when. */
  #down: { since: number } | undefined;
  #lastError: { message: string; atMs: number } | undefined;
  /** Set from the destination's return until what waited for it is delivered: for the log line that says so. */
  #recovering: { downSeconds: number; sentBefore: number } | undefined;
  readonly #mayLogDrop: () => boolean;
  /** The sender's `accepts`, bound once: enqueue runs for every reading. */
  readonly #accepts: ((p: MetricPoint) => boolean) | undefined;

  constructor(sender: Sender, options: DeliveryOptions) {
    this.name = options.name;
    this.#sender = sender;
    // Field by field: a config that says `queueSize: undefined` must still get the default.
    this.#o = {
      ...options,
      maxQueue: options.maxQueue ?? DEFAULT_QUEUE_SIZE,
      overflow: options.overflow ?? 'spool',
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      now: options.now ?? Date.now,
    };
    this.#logger = options.logger.child({ destination: options.name });
    this.#mayLogDrop = logThrottle(10_000, this.#o.now);
    this.#accepts = sender.accepts?.bind(sender);
    this.#maxUnsettled = Math.max(this.#o.maxQueue, FALLBACK_MEMORY_POINTS);
    const { stats } = options;
    const memory = new MemoryBuffer(this.#o.maxQueue);
    stats.gauge(`dest.${this.name}.memory`, () => memory.length);
    if (this.#o.overflow === 'spool') {
      if (!options.spoolDir) throw new ConfigError('E_CONFIG_INVALID', `destination ${options.name}: overflow 'spool' needs a spool directory`);
      const spool = new Spool({
        dir: options.spoolDir,
        maxBytes: options.spoolMaxBytes,
        logger: this.#logger,
        fs: options.spoolFs,
        now: this.#o.now,
        onDrop: (reason, n) => this.#drop(reason, n),
      });
      this.#spool = spool;
      this.#spilling = new SpillingBuffer(memory, new DiskBuffer(spool), { onSpooled: (n) => this.#count('spooled', n) });
      this.#buffer = this.#spilling;
      stats.gauge(`dest.${this.name}.spool_pending`, () => spool.size);
      stats.gauge(`dest.${this.name}.spool_bytes`, () => spool.bytes);
      const restored = spool.size;
      if (restored > 0) {
        // Counted as queued by this run (unless this run counted them already, before a reload),
        // so the accounting identity holds from the start.
        const counted = handedOver.get(stats)?.get(spool.dir) ?? 0;
        this.#count('queued', Math.max(0, restored - counted));
        this.#count('restored', restored);
        this.#logger.info({ points: restored }, 'spooled points from an earlier run will be sent first');
      }
      handedOver.get(stats)?.delete(spool.dir);
    } else {
      this.#buffer = memory;
    }
    this.#pump();
  }

  /** Points waiting, in memory and on disk, including the batches not yet delivered. */
  get backlog(): number {
    return this.#buffer.length;
  }

  get status(): DeliveryStatus {
    return {
      name: this.name,
      backlog: this.backlog,
      spoolPending: this.#spool?.size ?? 0,
      spoolBytes: this.#spool?.bytes ?? 0,
      downSinceMs: this.#down?.since,
      lastError: this.#lastError,
    };
  }

  /** Queues points; never blocks and never throws. */
  enqueue(points: readonly MetricPoint[]): void {
    const accepts = this.#accepts;
    const carried = accepts ? points.filter(accepts) : points;
    if (carried.length < points.length) this.#count('skipped', points.length - carried.length);
    if (carried.length === 0) return;
    this.#count('queued', carried.length);
    if (this.#closed) {
      this.#drop('stopped', carried.length);
      return;
    }
    const left = this.#buffer.add(carried);
    if (left > 0) this.#drop(this.#spilling ? 'spool_unwritable' : 'queue_full', left);
    this.#pump();
  }

  /**
   * Stops: lets the write in flight finish (up to `graceMs`), takes back every batch whose
   * delivery rule has not settled, writes what is in memory to the front of the spool, and
   * closes the connection.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.race([this.#inFlight, new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const w of this.#written) w.state = 'gone';
    this.#written = [];
    this.#unsettled = 0;
    const inMemory = this.#spilling?.memory.length ?? 0;
    const lost = this.#buffer.close();
    if (inMemory - lost > 0) this.#logger.info({ points: inMemory - lost }, 'wrote queued points to the spool for the next start');
    if (lost > 0) {
      this.#drop('stopped', lost);
      this.#logger.error({ code: 'E_DELIVERY', dropped: lost }, 'stopping with points queued that no spool can keep: dropped');
    }
    if (this.#spool) {
      const byDir = handedOver.get(this.#o.stats) ?? new Map<string, number>();
      byDir.set(this.#spool.dir, this.#spool.size);
      handedOver.set(this.#o.stats, byDir);
    }
    await this.#sender.close().catch((err: unknown) => this.#logger.warn({ code: 'E_DELIVERY' }, `closing the connection failed: ${errorMessage(err)}`));
  }

  #pump(): void {
    if (this.#writing || this.#closed || this.#timer || this.#unsettled >= this.#maxUnsettled) return;
    const batch = this.#buffer.begin(this.#sender.maxBatch);
    if (batch === undefined) {
      // Points wait that are in no written batch, yet none could be read: the spool failed.
      if (this.#buffer.length > this.#unsettled) this.#retryIn(SPOOL_RETRY_MS);
      return;
    }
    this.#writing = true;
    const epoch = this.#epoch;
    // Through a then(), so a sender that throws instead of rejecting is handled the same way.
    const sent: Promise<SendResult | void> = Promise.resolve().then(() => this.#sender.send(batch.points));
    this.#inFlight = sent
      .then(
        (result) => (epoch === this.#epoch ? this.#left(batch, result ?? undefined) : undefined),
        (err: unknown) => this.#failed(err, batch, epoch === this.#epoch),
      )
      .catch((err: unknown) => this.#logger.error({ code: 'E_INTERNAL', err }, 'delivery bookkeeping failed'))
      .finally(() => {
        this.#writing = false;
        if (!this.#timer && !this.#closed) setImmediate(() => this.#pump());
      });
  }

  /** A batch left for the destination: it waits for its delivery rule. */
  #left(batch: Batch, result: SendResult | undefined): void {
    if (this.#closed) return; // close took it back
    const w: Written = {
      batch,
      unsent: Math.min(result?.unsent ?? 0, batch.points.length),
      reason: result?.reason ?? 'out_of_range',
      rejected: false,
      state: 'waiting',
    };
    this.#track(w);
    const rule = result?.delivered;
    if (rule === undefined) this.#settled(w);
    else
      rule.then(
        () => this.#settled(w),
        (err: unknown) => this.#broke(w, err),
      ).catch((err: unknown) => this.#logger.error({ code: 'E_INTERNAL', err }, 'delivery bookkeeping failed'));
  }

  #track(w: Written): void {
    this.#written.push(w);
    this.#unsettled += w.batch.points.length;
  }

  /**
   * A batch's delivery rule holds: it and every settled batch before it leave the buffer, in
   * order. Only a delivered batch says the destination is back (a write into a connection that
   * then breaks does not).
   */
  #settled(w: Written): void {
    if (w.state !== 'waiting') return;
    w.state = 'done';
    let head = this.#written[0];
    while (head !== undefined && head.state === 'done') {
      this.#written.shift();
      this.#unsettled -= head.batch.points.length;
      if (!head.rejected) this.#delivered();
      const left = this.#buffer.end(head.batch, true);
      if (head.rejected) this.#count('rejected', left);
      else {
        const unsent = Math.min(head.unsent, left);
        if (unsent > 0) this.#drop(head.reason, unsent);
        this.#count('sent', left - unsent);
      }
      head = this.#written[0];
    }
    if (this.#recovering && this.backlog === 0) {
      const delivered = this.#o.stats.get(`dest.${this.name}.sent`) - this.#recovering.sentBefore;
      this.#logger.info({ downSeconds: this.#recovering.downSeconds, delivered }, `delivered the ${delivered} point(s) that waited while the destination was down for ${this.#recovering.downSeconds} s`);
      this.#recovering = undefined;
    }
    if (!this.#closed) this.#pump();
  }

  /** The destination took a batch: the backoff starts over, and an outage is over. */
  #delivered(): void {
    this.#attempt = 0;
    this.#spilling?.recovered();
    if (!this.#down) return;
    const seconds = Math.round((this.#o.now() - this.#down.since) / 1000);
    this.#down = undefined;
    this.#recovering = { downSeconds: seconds, sentBefore: this.#o.stats.get(`dest.${this.name}.sent`) };
    this.#logger.info({ downSeconds: seconds, backlog: this.backlog }, `destination is reachable again after ${seconds} s; sending the ${this.backlog} point(s) that waited`);
  }

  /**
   * A written batch may have been lost (the connection broke within its window): it and every
   * later one go out again, and the destination is in trouble (a relay that accepts and then
   * drops is as bad as one that refuses).
   */
  #broke(w: Written, err: unknown): void {
    if (w.state !== 'waiting' || this.#closed) return;
    const i = this.#written.indexOf(w);
    let points = 0;
    for (const later of this.#written.splice(i)) {
      later.state = 'gone';
      points += later.batch.points.length;
    }
    this.#unsettled -= points;
    this.#epoch++;
    this.#buffer.end(w.batch, false);
    this.#count('resent', points);
    this.#trouble(err);
  }

  /** A write failed; `current`: its batch was not taken back meanwhile. */
  #failed(err: unknown, batch: Batch, current: boolean): void {
    if (this.#closed) return;
    const retryable = !(err instanceof DeliveryError) || err.retryable;
    if (!retryable && current) {
      // Retrying cannot help (the destination refused these points): log, count, move on.
      this.#lastError = { message: errorMessage(err), atMs: this.#o.now() };
      const w: Written = { batch, unsent: 0, reason: 'out_of_range', rejected: true, state: 'waiting' };
      this.#track(w);
      this.#settled(w);
      this.#logger.error({ code: 'E_DELIVERY', points: batch.points.length }, `destination refused points: ${errorMessage(err)}`);
      return;
    }
    this.#epoch++;
    this.#buffer.end(batch, false);
    this.#trouble(err);
  }

  /** The destination failed: back off; with a spool, everything not delivered goes to disk. */
  #trouble(err: unknown): void {
    this.#lastError = { message: errorMessage(err), atMs: this.#o.now() };
    const delay = backoffDelay(this.#attempt++, this.#o.backoff);
    this.#count('retries');
    if (!this.#down) {
      this.#down = { since: this.#o.now() };
      this.#logger.warn(
        { code: 'E_DELIVERY', backlog: this.backlog, retryInMs: delay },
        `destination unreachable: ${errorMessage(err)}; points go to the spool until it is back`,
      );
    } else {
      this.#logger.debug({ code: 'E_DELIVERY', retryInMs: delay, backlog: this.backlog }, `delivery failed again: ${errorMessage(err)}`);
    }
    if (this.#spilling) {
      // Batches still in their window go to disk with the rest: they are sent again from there.
      for (const w of this.#written) w.state = 'gone';
      this.#written = [];
      this.#unsettled = 0;
      this.#spilling.trouble();
    }
    this.#retryIn(delay);
  }

  #retryIn(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, ms);
  }

  #drop(reason: DropReason, n: number): void {
    this.#count('dropped', n);
    this.#count(`dropped.${reason}`, n);
    if (this.#mayLogDrop()) {
      this.#logger.error(
        { code: 'E_DELIVERY', reason, dropped: this.#o.stats.get(`dest.${this.name}.dropped`) },
        `dropping points (${reason}); the count so far is in dest.${this.name}.dropped`,
      );
    }
  }

  #count(what: string, by = 1): void {
    this.#o.stats.count(`dest.${this.name}.${what}`, by);
  }
}
