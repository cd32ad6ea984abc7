import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { GatewayError, errorMessage } from '../errors.ts';
import type { MetricPoint } from './metric-point.ts';

/** Points per segment file before a new one is started. */
const SEGMENT_POINTS = 5000;
/** Segment numbers start mid-range so shutdown can put older points in front. */
const FIRST_SEQ = 1_000_000_000;

type Row = [clientId: string, source: string, value: number | null, timeMs: number];

export interface SpoolSegment {
  readonly seq: number;
  readonly points: MetricPoint[];
  /** Points of this segment already delivered (from its `.done` file). */
  readonly delivered: number;
}

/**
 * A destination's on-disk overflow: JSON-lines segment files in one directory,
 * read oldest first. Written with plain synchronous appends, so a point is in the
 * kernel's page cache once `append` returns and survives the gateway being killed.
 * A `.done` file beside a segment records how many of its points were delivered.
 */
export class Spool {
  readonly dir: string;
  readonly #logger: Logger;
  /** Segment numbers on disk, oldest first (the last one is being written). */
  #segments: number[] = [];
  #writeSeq = 0;
  #writeFd: number | undefined;
  #writeCount = 0;
  /** Points on disk not yet delivered. */
  #size = 0;

  constructor(dir: string, logger: Logger) {
    this.dir = dir;
    this.#logger = logger;
    try {
      mkdirSync(dir, { recursive: true });
      this.#segments = readdirSync(dir)
        .map((n) => /^seg-(\d+)\.jsonl$/.exec(n)?.[1])
        .filter((s): s is string => s !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
    } catch (err) {
      throw new GatewayError('E_SPOOL', `cannot use spool directory ${dir}: ${errorMessage(err)}`, { cause: err });
    }
    for (const seq of this.#segments) this.#size += this.#countLines(seq) - this.#delivered(seq);
    this.#writeSeq = Math.max(FIRST_SEQ, ...this.#segments);
  }

  /** Undelivered points on disk. */
  get size(): number {
    return this.#size;
  }

  get isEmpty(): boolean {
    return this.#segments.length === 0;
  }

  /** Appends points behind everything spooled so far. */
  append(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    if (this.#writeFd === undefined || this.#writeCount >= SEGMENT_POINTS) this.#startSegment(this.#writeSeq + 1);
    writeSync(this.#writeFd as number, rows(points));
    this.#writeCount += points.length;
    this.#size += points.length;
  }

  /** Writes points in front of everything spooled (older points, at shutdown). */
  prepend(points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    const seq = (this.#segments[0] ?? FIRST_SEQ) - 1;
    writeFileSync(this.#file(seq), rows(points));
    this.#segments.unshift(seq);
    this.#size += points.length;
  }

  /** The oldest segment, to deliver from. Closes the segment being written if it is the only one. */
  oldest(): SpoolSegment | undefined {
    const seq = this.#segments[0];
    if (seq === undefined) return undefined;
    if (seq === this.#writeSeq && this.#writeFd !== undefined) this.#closeWriter();
    const points: MetricPoint[] = [];
    let bad = 0;
    for (const line of readFileSync(this.#file(seq), 'utf8').split('\n')) {
      if (line === '') continue;
      const p = parseRow(line);
      if (p) points.push(p);
      else bad++;
    }
    // A torn last line after a kill, or a damaged file: those points are gone; say so.
    if (bad > 0) {
      this.#size -= bad;
      this.#logger.error({ code: 'E_SPOOL', segment: seq, lines: bad }, 'skipped unreadable spool lines');
    }
    return { seq, points, delivered: Math.min(this.#delivered(seq), points.length) };
  }

  /** Records that the first `count` points of segment `seq` were delivered. */
  markDelivered(seq: number, count: number, total: number, newly: number): void {
    this.#size -= newly;
    if (count >= total) {
      unlinkQuiet(this.#file(seq));
      unlinkQuiet(this.#doneFile(seq));
      this.#segments = this.#segments.filter((s) => s !== seq);
      return;
    }
    const tmp = `${this.#doneFile(seq)}.tmp`;
    writeFileSync(tmp, String(count));
    renameSync(tmp, this.#doneFile(seq));
  }

  close(): void {
    this.#closeWriter();
  }

  #startSegment(seq: number): void {
    this.#closeWriter();
    this.#writeSeq = seq;
    this.#writeFd = openSync(this.#file(seq), 'a');
    this.#writeCount = 0;
    this.#segments.push(seq);
  }

  #closeWriter(): void {
    if (this.#writeFd !== undefined) closeSync(this.#writeFd);
    this.#writeFd = undefined;
    this.#writeCount = SEGMENT_POINTS; // the next append starts a new segment
  }

  #countLines(seq: number): number {
    try {
      return readFileSync(this.#file(seq), 'utf8').split('\n').filter((l) => l !== '').length;
    } catch {
      return 0;
    }
  }

  #delivered(seq: number): number {
    try {
      return Number(readFileSync(this.#doneFile(seq), 'utf8')) || 0;
    } catch {
      return 0;
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

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
