import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { freeBytes, FULL_DISK_BYTES } from '../data-dir.ts';
import { ConfigError, RrdError, errorMessage } from '../errors.ts';
import { formatCommand, isBareArgument, parseLastUpdate, type LastUpdate } from './rrd-command.ts';
import { isLockedError, LOCK_RETRY_MS, LOCK_WAIT_MS, retryingOnDeath, ShardedRrdtool, ViaRrdcached, waitingOnLocks, type RrdLines } from './rrd-lines.ts';
import { RrdtoolProcess } from './rrdtool-process.ts';
import { ensureOnce, type RrdStore } from './rrd-store.ts';

export interface RrdServiceOptions {
  /** rrdtool processes to spread files over (each file always goes to the same one). Default 2. */
  processes?: number;
  binary?: string;
  /**
   * rrdcached's address (`unix:/run/rrdcached.sock`, `host:port`): updates go through it, so
   * a file is written once per flush interval instead of once per update (SD cards). Reads
   * flush the file first. While it cannot be reached, updates are written to the files
   * directly (logged once per outage).
   */
  rrdcached?: string;
  /**
   * How long a command waits, trying again, while another program holds its file's lock
   * (see {@link isLockedError}). Default {@link LOCK_WAIT_MS}.
   */
  lockWaitMs?: number;
  logger: Logger;
}

export type { LastUpdate };

/**
 * What `update` rejects with when a reading's second already holds another reading of the same
 * file: one value per file and second is stored, the first one. Whole seconds, because rrdtool
 * 1.7 stores a value lower than any sent for the step in which fractional-second updates stop;
 * one instance, because a board sending faster than once a second meets it at every reading.
 */
export const COALESCED = new RrdError('W_RRD_COALESCED', 'another reading of this rrd file holds that second; one value per file and second is stored, the first');

/** rrdtool's answer for an update to a file that is not there. */
function isMissingFileError(err: unknown): boolean {
  return /opening .*No such file or directory/i.test(errorMessage(err));
}

/**
 * Runs a read again while rrdtool answers "could not lock RRD": another process (the
 * gateway, when `list` runs beside it) is writing the file that moment. Up to about 2 s.
 */
export async function whileLocked<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 80 || !isLockedError(err)) throw err;
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
  }
}

/** Values one `rrdtool update` command carries at most. */
const MAX_BATCH = 256;

/**
 * Values bound for one `rrdtool update` command, and the one promise all their callers wait on.
 * A class, not a literal: see VerifiedReading (src/reading.ts) on V8's pretenuring of literals.
 */
class Batch {
  readonly values: string[] = new Array<string>();
  /** The second of its first value. */
  firstSecond = 0;
  readonly promise: Promise<void>;
  settle!: (err?: Error) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => (this.settle = (err) => (err === undefined ? resolve() : reject(err))));
  }
}

/** Per-file update state: one command in flight, the rest coalesced behind it. */
interface FileQueue {
  /** The last second an update of this file was stamped with. */
  lastSecond: number;
  busy: boolean;
  /** The path as an rrdtool argument (quoted if it has a blank), checked once. */
  pathArg: string;
  waiting: Batch[];
  /** The newest batch's promise: a coalesced update answers after it, so answers keep the updates' order. */
  last: Promise<void>;
}

const coalesced = (): Promise<void> => Promise.reject(COALESCED);

/**
 * All the gateway's rrdtool work behind one small interface. Commands go through a store
 * composed of small parts (rrd-lines.ts): files sharded by path over a few pipe-mode processes
 * (so updates of one file stay in order), a command sent again when rrdtool died under it,
 * rrdcached with fail-over to the files, and commands sent again while another program holds the
 * file's lock.
 *
 * Updates stamped by the gateway (`N:` templates) are coalesced per file: while one
 * `update` command for a file is in flight, later values queue and go together in
 * the next command (`update f t1:v1 t2:v2 …`), which costs rrdtool one file open
 * instead of one per value. Timestamps are kept strictly increasing per file, so a
 * batch cannot fail half-way on ordering.
 */
export class RrdService implements RrdStore {
  readonly #processes: ShardedRrdtool;
  /** The processes with the died-retry and lock waiting around them. */
  readonly #lines: RrdLines;
  readonly #logger: Logger;
  /** Files known to exist, or a creation under way, keyed by absolute path. */
  readonly #ready = new Map<string, Promise<void>>();
  /** What each file was ensured with, to make it again if it disappears while the gateway runs. */
  readonly #createArgs = new Map<string, readonly string[]>();
  readonly #files = new Map<string, FileQueue>();
  /** rrdcached, when updates go through one. */
  readonly #daemon: ViaRrdcached | undefined;

  constructor(options: RrdServiceOptions) {
    const n = options.processes ?? 2;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError('E_CONFIG_INVALID', `rrdtool processes must be 1..64, got ${n}`);
    this.#logger = options.logger;

    this.#processes = new ShardedRrdtool(Array.from({ length: n }, () => new RrdtoolProcess({ binary: options.binary, logger: options.logger })));
    const retrying = retryingOnDeath(this.#processes);
    this.#daemon = options.rrdcached === undefined ? undefined : new ViaRrdcached(retrying, options.rrdcached, options.logger, () => this.#ready.keys().next().value);
    this.#lines = waitingOnLocks(this.#daemon ?? retrying, options.lockWaitMs ?? LOCK_WAIT_MS);
  }

  /** The rrdcached address, when updates go through one. */
  get rrdcached(): string | undefined {
    return this.#daemon?.address;
  }

  /** Updates written to the files directly because rrdcached could not be reached. */
  get directWrites(): number {
    return this.#daemon?.directWrites ?? 0;
  }

  /** Updates waiting for rrdtool: written and unanswered, or queued behind a file's command in flight. */
  get pending(): number {
    let n = this.#processes.pending;
    for (const q of this.#files.values()) for (const b of q.waiting) n += b.values.length;
    return n;
  }

  /** Why rrdtool is not working (it cannot start, or died and has not answered since), if it is not. */
  /** Why updates wait for rrdcached, or go around it, if they do. */
  get cachedProblem(): string | undefined {
    return this.#daemon?.problem;
  }

  get problem(): string | undefined {
    return this.#processes.problem;
  }

  /** Pids of the running rrdtool processes. */
  get pids(): number[] {
    return this.#processes.pids;
  }

  /**
   * Creates `path` from `createArgs` unless it exists. Safe to call for every update:
   * after the first call it costs one Map lookup.
   */
  ensure(path: string, createArgs: readonly string[]): Promise<void> {
    this.#createArgs.set(path, createArgs);
    return ensureOnce(this.#ready, path, () => this.#createIfMissing(path, createArgs));
  }

  /**
   * Runs `write` again once after making `path` anew, when it failed because the file this service
   * made or found is gone: an operator deleted it to change its archives (as rrdtool users do),
   * and expects it back on the next reading rather than errors until a restart. Only if its
   * directory is still there: a directory that vanished is a disk that went away, and making
   * it again would put the data somewhere else.
   */
  #recreatingOnce<T>(path: string, err: Error, write: () => Promise<T>): Promise<T> {
    const createArgs = this.#createArgs.get(path);
    if (createArgs === undefined || !isMissingFileError(err)) return Promise.reject(err);
    return access(dirname(path)).then(
      () => {
        this.#ready.delete(path);
        this.#logger.warn({ code: 'W_RRD_RECREATED', path }, `rrd file ${path} disappeared while the gateway ran; made it again from the profile. Its earlier data is not in it`);
        return this.ensure(path, createArgs).then(write);
      },
      () => Promise.reject(new RrdError('E_RRD_COMMAND', `${errorMessage(err)}: its directory ${dirname(path)} is gone too (a disk unmounted?); not making it again there. Mount it back, or restart the gateway to make the files anew`, { cause: err })),
    );
  }

  /**
   * `rrdtool update path value`. A value starting `N:` is stamped with the whole second of
   * `timeMs` (the time the gateway accepted the reading) and may share a command with others
   * for the same file; a second that already holds one of the file's readings rejects with
   * {@link COALESCED}. Any other value goes alone. Retried once if rrdtool died under it.
   */
  update(path: string, value: string, timeMs = Date.now()): Promise<void> {
    if (!value.startsWith('N:') || !isBareArgument(value)) {
      return this.#write(path, [value]).catch((err: unknown) =>
        this.#recreatingOnce(path, err instanceof Error ? err : new RrdError('E_RRD_COMMAND', errorMessage(err)), () => this.#write(path, [value])),
      );
    }
    let q = this.#files.get(path);
    if (q === undefined) {
      let pathArg: string;
      try {
        pathArg = formatCommand([path]);
      } catch {
        return this.#write(path, [value]); // which rejects with formatCommand's reason
      }
      q = { lastSecond: 0, busy: false, pathArg, waiting: [], last: Promise.resolve() };
      this.#files.set(path, q);
    }
    const second = Math.floor(timeMs / 1000);
    if (second <= q.lastSecond) return q.last.then(coalesced, coalesced);
    q.lastSecond = second;
    // Values that will go in one command share one promise: a promise per value is garbage at every update.
    let batch = q.waiting[q.waiting.length - 1];
    if (batch === undefined || batch.values.length >= MAX_BATCH) {
      batch = new Batch();
      batch.firstSecond = second;
      q.waiting.push(batch);
      q.last = batch.promise;
    }
    batch.values.push(`${second}${value.slice(1)}`);
    const { promise } = batch;
    if (!q.busy) this.#flush(path, q);
    return promise;
  }

  #flush(path: string, q: FileQueue): void {
    const batch = q.waiting.shift();
    if (batch === undefined) {
      q.busy = false;
      return;
    }
    q.busy = true;
    this.#writeBatch(path, q, batch.values, (err) => {
      if (err !== undefined && isMissingFileError(err)) {
        this.#recreateForBatch(path, q, batch, err);
        return;
      }
      // A batch that failed stored nothing: its seconds are free again, unless later ones wait.
      if (err !== undefined && q.waiting.length === 0) q.lastSecond = Math.min(q.lastSecond, batch.firstSecond - 1);
      batch.settle(err);
      this.#flush(path, q);
    });
  }

  /** A batch that found its file gone wrote nothing: all of it goes to the file made anew. */
  #recreateForBatch(path: string, q: FileQueue, batch: Batch, err: Error): void {
    void this.#recreatingOnce(path, err, () => this.#write(path, batch.values)).then(
      () => batch.settle(),
      (e: unknown) => batch.settle(e instanceof Error ? e : new RrdError('E_RRD_COMMAND', errorMessage(e))),
    ).finally(() => this.#flush(path, q));
  }

  /**
   * {@link #write} in callback form for coalesced values: a promise chain per command costs more
   * than rrdtool's work on it.
   */
  #writeBatch(path: string, q: FileQueue, values: string[], done: (err?: Error) => void): void {
    // Each value was checked as it came (update()), the path when its queue was made: the line is
    // made here rather than by formatCommand, which would check every value again.
    const joined = values.join(' ');
    this.#lines.send(path, `update ${q.pathArg} ${joined}`, `update ${q.pathArg} --skip-past-updates ${joined}`, (err) => done(err));
  }

  /** The file's last update, as rrdcached holds it when updates go through one (its journal included). */
  async lastUpdate(path: string): Promise<LastUpdate> {
    const last = parseLastUpdate(await this.#run(path, ['lastupdate', path]));
    if (last === undefined) throw new RrdError('E_RRD_COMMAND', `no lastupdate line for ${path}`);
    return last;
  }

  /** Writes every file rrdcached holds updates for to disk (at a clean stop; before reading files directly). */
  async flushCached(): Promise<void> {
    const daemon = this.#daemon;
    if (daemon === undefined) return;
    const files = [...this.#ready.keys()];
    for (let i = 0; i < files.length; i += 64) {
      await daemon.flush(files.slice(i, i + 64)).catch((err: unknown) =>
        this.#logger.warn({ code: 'E_RRDCACHED', err: errorMessage(err) }, 'rrdcached did not flush; its journal still holds the updates'),
      );
    }
  }

  /** `rrdtool update` of values (through rrdcached when there is one, to the file while it cannot be reached). */
  #write(path: string, values: string[]): Promise<void> {
    return this.#run(path, ['update', path, ...values], ['update', path, '--skip-past-updates', ...values]).then(() => undefined);
  }

  /** Lets every process finish what it was sent, then stops them. */
  async close(): Promise<void> {
    await this.flushCached();
    await this.#processes.close();
  }

  async #createIfMissing(path: string, createArgs: readonly string[]): Promise<void> {
    try {
      await access(path);
      return;
    } catch {
      // missing: create it
    }
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(path, 0);
      throw new RrdError('E_RRD_COMMAND', `cannot make the directory for ${path}: ${errorMessage(err)}; check the profile's path and the data dir's permissions`, { cause: err });
    }
    try {
      // --no-overwrite: never clobber a file that appeared since the check.
      await this.#run(path, ['create', path, '--no-overwrite', ...createArgs]);
    } catch (err) {
      if (err instanceof RrdError && /exists/i.test(err.message)) return;
      throw err;
    }
    try {
      // rrdtool 1.7 answers OK to a create that ENOSPC stopped, and leaves no file.
      await access(path);
    } catch {
      const free = await freeBytes(dirname(path));
      if (free !== undefined && free < FULL_DISK_BYTES) throw diskFull(path, free);
      throw new RrdError('E_RRD_COMMAND', `rrdtool said it created ${path}, but there is no such file; check the disk and the directory's permissions`);
    }
    this.#logger.info({ path }, 'created rrd file');
  }

  /**
   * Runs a command about `path`; if rrdtool died under it, `retryArgs` go once instead (an
   * update retries with --skip-past-updates: rrdtool may have written part of it before dying).
   */
  #run(path: string, args: string[], retryArgs = args): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      const line = formatCommand(args); // a throw here rejects
      this.#lines.send(path, line, retryArgs === args ? line : formatCommand(retryArgs), (err, lines) => (err === undefined ? resolve(lines) : reject(err)));
    });
  }
}

function diskFull(path: string, free: number): RrdError {
  return new RrdError(
    'E_DISK_FULL',
    `cannot make rrd file ${path}: the data disk is full (${free} bytes free). Free space on it; until then this board's readings are not stored (counted as errors.E_DISK_FULL) and still go to the destinations`,
  );
}
