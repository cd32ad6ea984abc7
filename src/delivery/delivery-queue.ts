import type { Logger } from 'pino';
import { ConfigError, DeliveryError, errorMessage } from '../errors.ts';
import { logThrottle } from '../log-limiter.ts';
import type { Stats } from '../stats.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../backoff.ts';
import type { MetricPoint } from './metric-point.ts';
import type { Sender, SendResult, UnsentReason } from './sender.ts';
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

/** Points kept in memory when the spool cannot be written, at least. */
const FALLBACK_MEMORY_POINTS = 10_000;
/** How soon a queue whose spool could not be read tries again. */
const SPOOL_RETRY_MS = 5_000;

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

type Source = { kind: 'memory' } | { kind: 'segment'; seq: number };

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
 * The delivery stage every destination shares: points in order, one batch in flight,
 * retries with backoff and jitter. While the destination keeps up, points wait in
 * memory; once a send fails, everything waiting goes to the on-disk spool and stays
 * there until it is delivered, so killing the gateway while a destination is down
 * loses nothing. Every point is accounted for: at any moment
 * `queued = sent + rejected + dropped + memory + spool_pending` (counters and gauges
 * under `dest.<name>.`). Nothing here throws into the caller.
 */
export class DeliveryQueue {
  readonly name: string;
  readonly #sender: Sender;
  readonly #o: Required<Omit<DeliveryOptions, 'spoolDir' | 'spoolMaxBytes' | 'spoolFs'>>;
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
  /** Set while the destination is unreachable: since when, and what was sent meanwhile. */
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
    const { stats } = options;
    stats.gauge(`dest.${this.name}.memory`, () => this.#memory.length - this.#head);
    if (this.#o.overflow === 'spool') {
      if (!options.spoolDir) throw new ConfigError('E_CONFIG_INVALID', `destination ${options.name}: overflow 'spool' needs a spool directory`);
      this.#spool = new Spool({
        dir: options.spoolDir,
        maxBytes: options.spoolMaxBytes,
        logger: this.#logger,
        fs: options.spoolFs,
        now: this.#o.now,
        onDrop: (reason, n) => this.#drop(reason, n),
      });
      stats.gauge(`dest.${this.name}.spool_pending`, () => this.#spool?.size ?? 0);
      stats.gauge(`dest.${this.name}.spool_bytes`, () => this.#spool?.bytes ?? 0);
      const restored = this.#spool.size;
      if (restored > 0) {
        // Counted as queued by this run, so the accounting identity holds from the start.
        this.#count('queued', restored);
        this.#count('restored', restored);
        this.#logger.info({ points: restored }, 'spooled points from an earlier run will be sent first');
      }
    }
    this.#pump();
  }

  /** Points waiting, in memory and on disk, including the batch in flight. */
  get backlog(): number {
    return this.#memory.length - this.#head + (this.#spool?.size ?? 0);
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
    this.#place(carried);
    this.#pump();
  }

  /**
   * Stops: lets the batch in flight finish (up to `graceMs`), writes what is still in
   * memory to the front of the spool, and closes the connection.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.race([this.#inFlight, new Promise((r) => setTimeout(r, graceMs).unref())]);
    const left = this.#memory.slice(this.#head);
    this.#memory = [];
    this.#head = 0;
    if (left.length > 0) {
      if (this.#spool?.prepend(left)) {
        this.#count('spooled', left.length);
        this.#logger.info({ points: left.length }, 'wrote queued points to the spool for the next start');
      } else {
        this.#drop('stopped', left.length);
        this.#logger.error({ code: 'E_DELIVERY', dropped: left.length }, 'stopping with points queued that no spool can keep: dropped');
      }
    }
    this.#spool?.close();
    await this.#sender.close().catch((err: unknown) => this.#logger.warn({ code: 'E_DELIVERY' }, `closing the connection failed: ${errorMessage(err)}`));
  }

  /** Memory while the destination keeps up; the spool once anything is there or it is down. */
  #place(points: readonly MetricPoint[]): void {
    const inMemory = this.#memory.length - this.#head;
    const spool = this.#spool;
    const toDisk = spool !== undefined && (!spool.isEmpty || this.#down !== undefined || inMemory + points.length > this.#o.maxQueue);
    if (toDisk && spool.append(points)) {
      this.#count('spooled', points.length);
      return;
    }
    // The spool cannot take them now (or there is none): memory, up to its cap.
    const cap = toDisk ? Math.max(this.#o.maxQueue, FALLBACK_MEMORY_POINTS) : this.#o.maxQueue;
    const room = Math.max(0, Math.min(points.length, cap - inMemory));
    for (let i = 0; i < room; i++) this.#memory.push(points[i] as MetricPoint);
    if (room < points.length) this.#drop(spool ? 'spool_unwritable' : 'queue_full', points.length - room);
  }

  /** While the destination is down, what waits in memory belongs on disk, in front of what is there. */
  #spillMemory(): void {
    if (!this.#spool || this.#head >= this.#memory.length) return;
    const left = this.#memory.slice(this.#head);
    if (!this.#spool.prepend(left)) return;
    this.#memory = [];
    this.#head = 0;
    this.#count('spooled', left.length);
  }

  #pump(): void {
    if (this.#sending || this.#closed || this.#timer) return;
    const next = this.#nextBatch();
    if (!next) {
      if (this.#spool && !this.#spool.isEmpty) this.#retryIn(SPOOL_RETRY_MS); // the spool could not be read
      return;
    }
    const { batch, source } = next;
    this.#sending = true;
    // Through a then(), so a sender that throws instead of rejecting is handled the same way.
    const sent: Promise<SendResult | void> = Promise.resolve().then(() => this.#sender.send(batch));
    this.#inFlight = sent
      .then(
        (result) => {
          if (this.#closed) return; // what was in memory went to the spool at close
          this.#attempt = 0;
          this.#advance(source, batch.length);
          const unsent = Math.min(result?.unsent ?? 0, batch.length);
          if (unsent > 0) this.#drop(result?.reason ?? 'out_of_range', unsent);
          this.#count('sent', batch.length - unsent);
          if (this.#down) {
            const seconds = Math.round((this.#o.now() - this.#down.since) / 1000);
            this.#down = undefined;
            this.#recovering = { downSeconds: seconds, sentBefore: this.#o.stats.get(`dest.${this.name}.sent`) - (batch.length - unsent) };
            this.#logger.info({ downSeconds: seconds, backlog: this.backlog }, `destination is reachable again after ${seconds} s; sending the ${this.backlog} point(s) that waited`);
          }
          if (this.#recovering && this.backlog === 0) {
            const delivered = this.#o.stats.get(`dest.${this.name}.sent`) - this.#recovering.sentBefore;
            this.#logger.info({ downSeconds: this.#recovering.downSeconds, delivered }, `delivered the ${delivered} point(s) that waited while the destination was down for ${this.#recovering.downSeconds} s`);
            this.#recovering = undefined;
          }
        },
        (err: unknown) => this.#failed(err, source, batch.length),
      )
      .catch((err: unknown) => this.#logger.error({ code: 'E_INTERNAL', err }, 'delivery bookkeeping failed'))
      .finally(() => {
        this.#sending = false;
        if (!this.#timer && !this.#closed) setImmediate(() => this.#pump());
      });
  }

  #failed(err: unknown, source: Source, size: number): void {
    if (this.#closed) return;
    this.#lastError = { message: errorMessage(err), atMs: this.#o.now() };
    const retryable = !(err instanceof DeliveryError) || err.retryable;
    if (!retryable) {
      // Retrying cannot help (the destination refused these points): log, count, move on.
      this.#advance(source, size);
      this.#count('rejected', size);
      this.#logger.error({ code: 'E_DELIVERY', points: size }, `destination refused points: ${errorMessage(err)}`);
      return;
    }
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
    this.#spillMemory();
    this.#retryIn(delay);
  }

  #retryIn(ms: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, ms);
  }

  #nextBatch(): { batch: MetricPoint[]; source: Source } | undefined {
    const max = this.#sender.maxBatch;
    if (this.#head < this.#memory.length) {
      return { batch: this.#memory.slice(this.#head, this.#head + max), source: { kind: 'memory' } };
    }
    if (!this.#spool) return undefined;
    while (!this.#segment) {
      const seg = this.#spool.oldest();
      if (!seg) return undefined;
      if (seg.points.length > seg.delivered) this.#segment = { seq: seg.seq, points: seg.points, offset: seg.delivered };
      else this.#spool.markDelivered(seg.seq, seg.points.length, 0);
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
    if (s.offset >= s.points.length) this.#segment = undefined;
    this.#spool?.markDelivered(s.seq, s.offset, n);
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
