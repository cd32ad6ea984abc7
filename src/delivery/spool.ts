import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';
import { logThrottle } from '../log-limiter.ts';
import type { MetricPoint } from './metric-point.ts';

/** Points per segment file before a new one is started. */
const SEGMENT_POINTS = 5000;
/** Segment numbers start mid-range so shutdown can put older points in front. */
const FIRST_SEQ = 1_000_000_000;
/** After a disk error, how long before the spool tries the disk again. */
const RETRY_AFTER_MS = 5_000;
/** Appended points are fsynced at most this long after they were written. */
const SYNC_INTERVAL_MS = 1_000;
/** The delivered count is written at offset 0 with a fixed width, so one small pwrite replaces it. */
const DONE_WIDTH = 15;

/** Default cap on one destination's spool: room for days of readings, small for an SD card. */
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

/** What the spool was doing when its disk failed (the `op` of its E_SPOOL line). */
export type SpoolOp = 'open' | 'append' | 'prepend' | 'read' | 'sync' | 'record' | 'remove';

/** Why points left a spool without being delivered. */
export type SpoolDropReason = 'spool_full' | 'spool_corrupt' | 'spool_lost';

/** The synchronous file calls the spool makes; tests pass one that fails on cue. */
export type SpoolFs = Pick<
  typeof nodeFs,
  'mkdirSync' | 'readdirSync' | 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'readFileSync' | 'unlinkSync' | 'ftruncateSync'
>;

export interface SpoolOptions {
  dir: string;
  /** Bytes on disk at most; past it the oldest segments are dropped. Default {@link DEFAULT_SPOOL_MAX_BYTES}. */
  maxBytes?: number;
  logger: Logger;
  /** Points that left the spool undelivered, and why (the caller counts them). */
  onDrop: (reason: SpoolDropReason, points: number) => void;
  fs?: SpoolFs;
  now?: () => number;
}

export interface SpoolSegment {
  readonly seq: number;
  /** The readable points from line `first` on (lines before it were delivered and blanked). */
  readonly points: MetricPoint[];
  /** The segment's line that `points[0]` is. */
  readonly first: number;
  /** Lines of this segment already delivered (from its `.done` file, or blanked in place). */
  readonly delivered: number;
}

/**
 * Delivery progress a spool could not write to its disk, by directory, for the next spool of
 * that directory in this process (a SIGHUP rebuilds the destinations): what was delivered is
 * not sent again, although the disk never learnt it.
 */
const unrecordedProgress = new Map<string, ReadonlyMap<number, number>>();

interface Segment {
  readonly seq: number;
  /** Complete lines in the file. */
  points: number;
  /** Of those, delivered. */
  delivered: number;
  bytes: number;
  /** The `.done` file, open once it has been written. */
  doneFd?: number;
  /** `delivered` is not on disk yet (the disk refused it); written once the disk works again. */
  unrecorded?: boolean;
}

type Row = [clientId: string, source: string, value: number | null, timeMs: number];

/**
 * A destination's on-disk queue: JSON-lines segment files in one directory, read
 * oldest first, and beside each a `.done` file with how many of its points were
 * delivered. Appends are checked for short writes and undone on failure, so a
 * segment never holds a torn line the spool wrote itself; segments are fsynced
 * when they are closed, a second after an append and on {@link close}. No method
 * throws: a disk that is full or read-only puts the spool in a fault state (logged
 * once, with the errno), `append` answers false so the caller keeps the points,
 * and the disk is tried again after a few seconds.
 */
export class Spool {
  readonly dir: string;
  readonly #o: Required<Omit<SpoolOptions, 'fs' | 'now'>>;
  readonly #fs: SpoolFs;
  readonly #now: () => number;
  readonly #logger: Logger;
  /** Oldest first; the last one is being written while `#writeFd` is set. */
  #segments: Segment[] = [];
  #writeFd: number | undefined;
  /** Undelivered points on disk. */
  #size = 0;
  #bytes = 0;
  #fault: { op: SpoolOp; since: number; lastTry: number } | undefined;
  /** The newest segment number this spool started. */
  #lastSeq = 0;
  /** The segment a reader is delivering from: never dropped to make room. */
  #held: number | undefined;
  #unsynced = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #ready = false;
  readonly #mayLogCap: () => boolean;

  constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.#o = { ...options, maxBytes: options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES };
    this.#fs = options.fs ?? nodeFs;
    this.#now = options.now ?? Date.now;
    this.#mayLogCap = logThrottle(60_000, this.#now);
    this.#logger = options.logger;
    this.#open();
  }

  /** Undelivered points on disk. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of segment files on disk. */
  get bytes(): number {
    return this.#bytes;
  }

  /** No point waits on disk (segments delivered but not removable may still be there). */
  get isEmpty(): boolean {
    return this.#size === 0;
  }

  /** Whether the disk failed and has not worked since. */
  get faulty(): boolean {
    return this.#fault !== undefined;
  }

  /** Appends points behind everything spooled; false when the disk cannot take them now. */
  append(points: readonly MetricPoint[]): boolean {
    if (points.length === 0) return true;
    if (!this.#mayTouchDisk()) return false;
    const buf = Buffer.from(rows(points));
    this.#makeRoom(buf.length);
    let seg = this.#writing();
    let start = 0;
    try {
      if (seg === undefined || seg.points >= SEGMENT_POINTS) seg = this.#startSegment();
      start = seg.bytes;
      this.#writeAll(this.#writeFd as number, buf);
    } catch (err) {
      if (seg && this.#writeFd !== undefined) this.#undoPartial(seg, start);
      this.#failed('append', err);
      return false;
    }
    seg.points += points.length;
    seg.bytes += buf.length;
    this.#size += points.length;
    this.#bytes += buf.length;
    this.#scheduleSync();
    this.#recovered();
    return true;
  }

  /** Writes points in front of everything spooled (older points); false when the disk cannot take them. */
  prepend(points: readonly MetricPoint[]): boolean {
    if (points.length === 0) return true;
    if (!this.#mayTouchDisk()) return false;
    const seq = (this.#segments[0]?.seq ?? FIRST_SEQ) - 1;
    const buf = Buffer.from(rows(points));
    const file = this.#file(seq);
    let fd: number | undefined;
    try {
      fd = this.#fs.openSync(file, 'w');
      this.#writeAll(fd, buf);
      this.#fs.fsyncSync(fd);
      this.#fs.closeSync(fd);
      this.#syncDir();
    } catch (err) {
      if (fd !== undefined) this.#closeQuietly(fd);
      this.#unlinkQuietly(file);
      this.#failed('prepend', err);
      return false;
    }
    this.#segments.unshift({ seq, points: points.length, delivered: 0, bytes: buf.length });
    this.#size += points.length;
    this.#bytes += buf.length;
    this.#recovered();
    return true;
  }

  /** Segments holding points not yet delivered, oldest first (what a reader may ask {@link read} for). */
  get pending(): ReadonlyArray<{ readonly seq: number; readonly points: number; readonly delivered: number }> {
    return this.#segments.filter((s) => s.delivered < s.points);
  }

  /** Names the segment a reader delivers from (undefined: none), which the cap never drops. */
  hold(seq: number | undefined): void {
    this.#held = seq;
  }

  /** The oldest segment with points not yet delivered; see {@link read}. */
  oldest(): SpoolSegment | undefined {
    for (const seg of this.pending) {
      const read = this.read(seg.seq);
      if (read !== undefined || this.faulty) return read;
    }
    return undefined;
  }

  /**
   * Reads a segment's points, to deliver from; undefined when it is gone or cannot be read now.
   * Reading changes nothing but what it finds out about the file: lines that cannot be read
   * back are counted as `spool_corrupt`, a file removed behind the spool's back as `spool_lost`.
   * The segment being written can be read while it grows.
   */
  read(seq: number): SpoolSegment | undefined {
    const seg = this.#segments.find((s) => s.seq === seq);
    if (seg === undefined || !this.#mayTouchDisk()) return undefined;
    let text: string;
    try {
      text = this.#fs.readFileSync(this.#file(seg.seq), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Removed behind our back: its points are gone, say so.
        this.#discard(seg, 'spool_lost');
        this.#logger.error({ code: 'E_SPOOL', segment: seg.seq, dir: this.dir }, 'a spool segment disappeared; its points are lost');
        return undefined;
      }
      this.#failed('read', err);
      return undefined;
    }
    this.#recovered();
    const lines = completeLines(text);
    // Lines blanked in place are delivered ones (see #recordBlanked): they keep their place.
    let first = 0;
    while (first < lines.length && isBlank(lines[first] as string)) first++;
    const points: MetricPoint[] = [];
    for (let i = first; i < lines.length; i++) {
      const p = parseRow(lines[i] as string);
      if (p) points.push(p);
    }
    const readable = first + points.length;
    if (readable < seg.points) {
      // Damaged after it was written: the unreadable lines' points are gone.
      const pendingBefore = seg.points - seg.delivered;
      seg.points = readable;
      seg.delivered = Math.min(seg.delivered, readable);
      const lost = pendingBefore - (seg.points - seg.delivered);
      this.#size -= lost;
      if (lost > 0) this.#o.onDrop('spool_corrupt', lost);
      this.#logger.error({ code: 'E_SPOOL', segment: seg.seq, lines: lost, dir: this.dir }, 'skipped unreadable spool lines');
    }
    return { seq: seg.seq, points, first, delivered: seg.delivered };
  }

  /**
   * Records that the first `count` points of segment `seq` are delivered; answers how many of
   * them were not recorded as delivered before (0 for a segment the spool no longer has: its
   * points were counted where it was given up). A fully delivered segment is removed. Never
   * throws: progress that cannot be written is kept in memory, written once the disk works
   * again, and handed to the next spool of this directory in this process.
   */
  markDelivered(seq: number, count: number): number {
    const seg = this.#segments.find((s) => s.seq === seq);
    if (!seg) return 0;
    const upTo = Math.min(count, seg.points);
    const newly = Math.max(0, upTo - seg.delivered);
    if (newly === 0) return 0;
    this.#size -= newly;
    seg.delivered = upTo;
    if (upTo >= seg.points) this.#remove(seg);
    else this.#record(seg);
    return newly;
  }

  /** fsyncs and closes the files; never throws. */
  close(): void {
    clearTimeout(this.#syncTimer);
    this.#closeWriter();
    this.#recordUnrecorded();
    const kept = new Map<number, number>();
    for (const seg of this.#segments) {
      if (seg.unrecorded) kept.set(seg.seq, seg.delivered);
      this.#closeDone(seg, true);
    }
    if (kept.size > 0) unrecordedProgress.set(this.dir, kept);
    else unrecordedProgress.delete(this.dir);
  }

  #open(): void {
    try {
      this.#fs.mkdirSync(this.dir, { recursive: true });
      const names = this.#fs.readdirSync(this.dir);
      const seqs = names
        .map((n) => /^seg-(\d+)\.jsonl$/.exec(n)?.[1])
        .filter((s): s is string => s !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
      let torn = 0;
      const kept = unrecordedProgress.get(this.dir);
      unrecordedProgress.delete(this.dir);
      for (const seq of seqs) {
        const buf = this.#fs.readFileSync(this.#file(seq));
        const { lines: points, blank } = scanLines(buf);
        if (buf.length > 0 && buf[buf.length - 1] !== 0x0a) torn++;
        const known = kept?.get(seq) ?? 0;
        const delivered = Math.min(points, Math.max(this.#readDone(seq), blank, known));
        // Progress an earlier spool of this process could not write stays to be written.
        const unrecorded = known > Math.max(this.#readDone(seq), blank) ? true : undefined;
        this.#segments.push({ seq, points, delivered, bytes: buf.length, unrecorded });
        this.#size += points - delivered;
        this.#bytes += buf.length;
      }
      if (torn > 0) this.#logger.warn({ code: 'E_SPOOL', dir: this.dir, segments: torn }, 'spool segments end in a torn line (the gateway was killed mid-write); it is skipped');
      this.#ready = true;
    } catch (err) {
      this.#failed('open', err);
    }
  }

  /** False while a fault is fresh: the disk is not tried more than once every few seconds. */
  #mayTouchDisk(): boolean {
    if (this.#fault === undefined) return true;
    const now = this.#now();
    if (now - this.#fault.lastTry < RETRY_AFTER_MS) return false;
    this.#fault.lastTry = now;
    if (!this.#ready) this.#open();
    return this.#ready;
  }

  #failed(op: SpoolOp, err: unknown): void {
    const now = this.#now();
    if (this.#fault) {
      this.#fault.lastTry = now;
      return;
    }
    this.#fault = { op, since: now, lastTry: now };
    const errno = (err as NodeJS.ErrnoException).code;
    this.#logger.error(
      { code: 'E_SPOOL', errno, op, dir: this.dir },
      `the spool in ${this.dir} failed to ${op}: ${errorMessage(err)}. Points stay in memory (up to the queue size) until the disk works again; free space or fix the directory's permissions`,
    );
  }

  #recovered(): void {
    if (!this.#fault) return;
    const downS = Math.round((this.#now() - this.#fault.since) / 1000);
    this.#fault = undefined;
    this.#logger.info({ dir: this.dir, faultySeconds: downS }, 'the spool can be written again');
    this.#recordUnrecorded();
  }

  /** Writes the progress the disk refused earlier (removing what is wholly delivered). */
  #recordUnrecorded(): void {
    for (const seg of [...this.#segments]) {
      if (!seg.unrecorded) continue;
      if (seg.delivered >= seg.points) this.#remove(seg);
      else this.#record(seg);
    }
  }

  /**
   * Writes how far a segment is delivered: its `.done` file, or, where no file can be made (a
   * directory that turned read-only for the gateway), by blanking the delivered lines in the
   * segment itself, which a restart reads as delivered. If neither works the progress is kept
   * in memory (see `unrecordedProgress`).
   */
  #record(seg: Segment): void {
    try {
      seg.doneFd ??= this.#fs.openSync(this.#doneFile(seg.seq), 'w');
      this.#writeAll(seg.doneFd, Buffer.from(`${String(seg.delivered).padStart(DONE_WIDTH, '0')}\n`), 0);
      seg.unrecorded = undefined;
      return;
    } catch (err) {
      if (this.#blank(seg)) {
        seg.unrecorded = undefined;
        return;
      }
      seg.unrecorded = true;
      this.#failed('record', err);
    }
  }

  /** Overwrites the first `seg.delivered` lines of the segment with blanks, newlines kept; false if it cannot. */
  #blank(seg: Segment): boolean {
    let fd: number | undefined;
    try {
      const buf = this.#fs.readFileSync(this.#file(seg.seq));
      const end = endOfLines(buf, seg.delivered);
      fd = this.#fs.openSync(this.#file(seg.seq), 'r+');
      const blanked = Buffer.alloc(end, 0x20);
      for (let i = 0; i < end; i++) if (buf[i] === 0x0a) blanked[i] = 0x0a;
      this.#writeAll(fd, blanked, 0);
      this.#fs.fsyncSync(fd);
      return true;
    } catch {
      return false;
    } finally {
      if (fd !== undefined) this.#closeQuietly(fd);
    }
  }

  #writing(): Segment | undefined {
    return this.#writeFd === undefined ? undefined : this.#segments[this.#segments.length - 1];
  }

  #startSegment(): Segment {
    this.#closeWriter();
    // Never a number this spool used before: a reader may still know the old segment by it.
    const seq = Math.max(FIRST_SEQ, this.#lastSeq, this.#segments[this.#segments.length - 1]?.seq ?? 0) + 1;
    this.#lastSeq = seq;
    this.#writeFd = this.#fs.openSync(this.#file(seq), 'a');
    const seg: Segment = { seq, points: 0, delivered: 0, bytes: 0 };
    this.#segments.push(seg);
    this.#syncDir();
    return seg;
  }

  /** A write that fails part-way leaves no partial line: cut the file back, or start a new one. */
  #undoPartial(seg: Segment, length: number): void {
    try {
      this.#fs.ftruncateSync(this.#writeFd as number, length);
    } catch {
      // The torn tail stays; later lines go to a new segment so they are not joined to it.
      this.#closeWriter();
    }
  }

  #closeWriter(): void {
    const fd = this.#writeFd;
    if (fd === undefined) return;
    this.#writeFd = undefined;
    try {
      this.#fs.fsyncSync(fd);
      this.#unsynced = false;
    } catch (err) {
      this.#failed('sync', err);
    }
    this.#closeQuietly(fd);
  }

  #scheduleSync(): void {
    this.#unsynced = true;
    this.#syncTimer ??= setTimeout(() => {
      this.#syncTimer = undefined;
      if (!this.#unsynced || this.#writeFd === undefined) return;
      try {
        this.#fs.fsyncSync(this.#writeFd);
        this.#unsynced = false;
      } catch (err) {
        this.#failed('sync', err);
      }
    }, SYNC_INTERVAL_MS);
    this.#syncTimer.unref();
  }

  /** A new file's directory entry must reach the disk too, or a power cut can lose the file. */
  #syncDir(): void {
    let fd: number | undefined;
    try {
      fd = this.#fs.openSync(this.dir, 'r');
      this.#fs.fsyncSync(fd);
    } catch {
      // Some filesystems cannot fsync a directory; the data itself is synced regardless.
    } finally {
      if (fd !== undefined) this.#closeQuietly(fd);
    }
  }

  /** Over the cap: drop the oldest segments that nobody is reading or writing. */
  #makeRoom(incoming: number): void {
    if (this.#bytes + incoming <= this.#o.maxBytes) return;
    const writing = this.#writing();
    let dropped = 0;
    for (const seg of [...this.#segments]) {
      if (this.#bytes + incoming <= this.#o.maxBytes) break;
      if (seg === writing || seg.seq === this.#held) continue;
      dropped += seg.points - seg.delivered;
      this.#discard(seg, 'spool_full');
    }
    if (dropped > 0 && this.#mayLogCap()) {
      this.#logger.warn(
        { code: 'E_SPOOL_FULL', dir: this.dir, dropped, maxBytes: this.#o.maxBytes },
        `spool over its cap of ${this.#o.maxBytes} bytes: dropped the ${dropped} oldest points (raise spoolMaxBytes to keep more)`,
      );
    }
  }

  /** Takes a segment off the books and off the disk, counting its undelivered points as dropped. */
  #discard(seg: Segment, reason: SpoolDropReason): void {
    const undelivered = seg.points - seg.delivered;
    this.#size -= undelivered;
    if (undelivered > 0) this.#o.onDrop(reason, undelivered);
    this.#remove(seg);
  }

  #remove(seg: Segment): void {
    // A segment read to its end while still being written: later appends go to a new one.
    if (seg === this.#writing()) this.#closeWriter();
    try {
      this.#fs.unlinkSync(this.#file(seg.seq));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // It stays on disk: it stays on the books too, marked wholly delivered, so no restart
        // (nor the next spool of this process) sends it again.
        seg.delivered = seg.points;
        this.#record(seg);
        this.#failed('remove', err);
        return;
      }
    }
    this.#segments = this.#segments.filter((s) => s !== seg);
    this.#bytes -= seg.bytes;
    this.#closeDone(seg, false);
    this.#unlinkQuietly(this.#doneFile(seg.seq));
  }

  #closeDone(seg: Segment, sync: boolean): void {
    if (seg.doneFd === undefined) return;
    if (sync) {
      try {
        this.#fs.fsyncSync(seg.doneFd);
      } catch {
        // Best effort at a stop; the segment data itself is intact.
      }
    }
    this.#closeQuietly(seg.doneFd);
    seg.doneFd = undefined;
  }

  #readDone(seq: number): number {
    try {
      return Number(this.#fs.readFileSync(this.#doneFile(seq), 'utf8')) || 0;
    } catch {
      return 0;
    }
  }

  /** Loops over short writes; at `position` when given (pwrite), else at the end. */
  #writeAll(fd: number, buf: Buffer, position?: number): void {
    let off = 0;
    while (off < buf.length) {
      const n = this.#fs.writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
      if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      off += n;
    }
  }

  #closeQuietly(fd: number): void {
    try {
      this.#fs.closeSync(fd);
    } catch {
      // Closing can only fail for a bad fd; nothing to recover.
    }
  }

  #unlinkQuietly(file: string): void {
    try {
      this.#fs.unlinkSync(file);
    } catch {
      // Already gone, or the disk refuses: a stale `.done` for a missing segment is ignored.
    }
  }

  #file(seq: number): string {
    return join(this.dir, `seg-${String(seq).padStart(13, '0')}.jsonl`);
  }

  #doneFile(seq: number): string {
    return join(this.dir, `seg-${String(seq).padStart(13, '0')}.done`);
  }
}

function rows(points: readonly MetricPoint[]): string {
  let out = '';
  for (const p of points) out += `${JSON.stringify([p.clientId, p.source, p.value, p.timeMs] satisfies Row)}\n`;
  return out;
}

/** Newline-terminated lines; a tail without its newline is a torn write and is left out. */
function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n').filter((l) => l !== '');
}

/** Complete non-empty lines, and how many of the first ones are blanked (all spaces: delivered). */
function scanLines(buf: Buffer): { lines: number; blank: number } {
  let lines = 0;
  let blank = 0;
  let prev = 0x0a;
  let allSpaces = true;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i] as number;
    if (b === 0x0a) {
      if (prev !== 0x0a) {
        if (allSpaces && blank === lines) blank++;
        lines++;
      }
      allSpaces = true;
    } else if (b !== 0x20) allSpaces = false;
    prev = b;
  }
  return { lines, blank };
}

/** The byte offset just past the `n`th complete non-empty line. */
function endOfLines(buf: Buffer, n: number): number {
  let seen = 0;
  let prev = 0x0a;
  for (let i = 0; i < buf.length && seen < n; i++) {
    const b = buf[i] as number;
    if (b === 0x0a && prev !== 0x0a && ++seen === n) return i + 1;
    prev = b;
  }
  return 0;
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

function parseRow(line: string): MetricPoint | undefined {
  try {
    const r = JSON.parse(line) as unknown;
    if (!Array.isArray(r) || r.length !== 4) return undefined;
    const [clientId, source, value, timeMs] = r as unknown[];
    if (typeof clientId !== 'string' || typeof source !== 'string' || typeof timeMs !== 'number') return undefined;
    if (value !== null && typeof value !== 'number') return undefined;
    return { clientId, source, value, timeMs };
  } catch {
    return undefined;
  }
}
