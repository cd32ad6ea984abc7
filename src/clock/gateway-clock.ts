import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';
import { behindMs, nextStamp, startState, type ClockEvent, type StampState } from './stamp-clock.ts';

/** The file in the data dir that holds the stamp floor for the next start. */
export const CLOCK_FILE = '.rrduino-gateway.clock';

/**
 * How far ahead of the stamps given the floor on disk is kept: after a power cut the next start
 * gives no stamp below one already given (an rrd file refuses those) without writing on every
 * reading. The price: after a crash the stamps run up to this far ahead of the wall clock until
 * it catches up.
 */
export const RESERVE_MS = 60_000;

export type ClockFs = Pick<typeof nodeFs, 'readFileSync' | 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync'>;

export interface GatewayClockOptions {
  /** Where the floor is kept; none: stamps start from the wall clock and are not remembered. */
  dataDir?: string;
  /** No stamp below this (a session worker starts from the primary's). */
  floorMs?: number;
  logger: Logger;
  wall?: () => number;
  mono?: () => number;
  fs?: ClockFs;
}

/** What the page and `/metrics` show about the clock. */
export interface ClockStatus {
  /** How far the wall clock is behind the stamps (0: they follow it). */
  readonly behindMs: number;
  /** The largest step back seen since the start (0: none). */
  readonly largestStepBackMs: number;
}

/**
 * The one place readings get their stamps from: never backwards, across restarts too (see
 * stamp-clock.ts for the rule). Keeps a floor in the data dir, written ahead of the stamps it
 * covers; a disk that refuses it is logged once and the stamps go on.
 */
export class GatewayClock {
  readonly #logger: Logger;
  readonly #wall: () => number;
  readonly #mono: () => number;
  readonly #fs: ClockFs;
  readonly #file: string | undefined;
  #state: StampState;
  #reservedMs = 0;
  #largestStepBackMs = 0;
  #fileFailed = false;

  constructor(o: GatewayClockOptions) {
    this.#logger = o.logger;
    this.#wall = o.wall ?? Date.now;
    this.#mono = o.mono ?? (() => performance.now());
    this.#fs = o.fs ?? nodeFs;
    this.#file = o.dataDir === undefined ? undefined : join(o.dataDir, CLOCK_FILE);
    const floor = Math.max(o.floorMs ?? 0, this.#readFloor());
    this.#state = startState(floor);
  }

  /** A stamp (ms since the epoch) no lower than any given before, in this run or an earlier one. */
  now(): number {
    const { state, stampMs, event } = nextStamp(this.#state, this.#wall(), this.#mono());
    this.#state = state;
    if (event !== undefined) this.#tell(event);
    if (this.#file !== undefined && stampMs + RESERVE_MS / 2 > this.#reservedMs) this.#reserve(stampMs + RESERVE_MS);
    return stampMs;
  }

  get status(): ClockStatus {
    return { behindMs: behindMs(this.#state, this.#wall(), this.#mono()), largestStepBackMs: this.#largestStepBackMs };
  }

  /** Writes the exact floor for the next start: the second after the last stamp given. */
  close(): void {
    if (this.#file === undefined) return;
    this.#write(Math.floor(this.#state.lastMs / 1000) * 1000 + 1000);
  }

  #tell(event: ClockEvent): void {
    if (event.kind === 'behind') {
      this.#largestStepBackMs = Math.max(this.#largestStepBackMs, event.behindMs);
      this.#logger.warn(
        { code: 'W_CLOCK_BEHIND', behindSeconds: Math.round(event.behindMs / 1000) },
        `the wall clock is ${Math.round(event.behindMs / 1000)} s behind the last stamp given (it stepped back, or started behind the files); stamps go on from it at the pace of the monotonic clock until the wall clock catches up. Check NTP (timedatectl)`,
      );
    } else {
      this.#logger.info({ heldSeconds: Math.round(event.heldMs / 1000) }, 'the wall clock caught up with the stamps; they follow it again');
    }
  }

  #readFloor(): number {
    if (this.#file === undefined) return 0;
    let text: string;
    try {
      text = this.#fs.readFileSync(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#logger.warn({ code: 'W_CLOCK_FILE', file: this.#file }, `cannot read the stamp floor: ${errorMessage(err)}; stamps start from the wall clock`);
      return 0;
    }
    const floor = Number(text.trim());
    if (!Number.isSafeInteger(floor) || floor < 0) {
      this.#logger.warn({ code: 'W_CLOCK_FILE', file: this.#file }, 'the stamp floor file does not hold a number of milliseconds; stamps start from the wall clock');
      return 0;
    }
    this.#reservedMs = floor;
    return floor;
  }

  #reserve(ms: number): void {
    this.#reservedMs = ms; // also when the write fails: tried again a half reserve later, not on every reading
    this.#write(ms);
  }

  /** Written, synced, then renamed: a power cut leaves the old floor or the new, never half a number. */
  #write(ms: number): void {
    const file = this.#file as string;
    try {
      const fd = this.#fs.openSync(`${file}.tmp`, 'w');
      try {
        this.#fs.writeSync(fd, `${ms}\n`);
        this.#fs.fsyncSync(fd);
      } finally {
        this.#fs.closeSync(fd);
      }
      this.#fs.renameSync(`${file}.tmp`, file);
      if (this.#fileFailed) this.#logger.info({ file }, 'the stamp floor can be written again');
      this.#fileFailed = false;
    } catch (err) {
      if (!this.#fileFailed) this.#logger.warn({ code: 'W_CLOCK_FILE', file }, `cannot write the stamp floor: ${errorMessage(err)}; a restart after a power cut may give stamps the rrd files refuse`);
      this.#fileFailed = true;
    }
  }
}
