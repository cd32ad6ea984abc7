import type { Logger } from 'pino';
import { RrdError, errorMessage } from '../errors.ts';
import { formatCommand } from './rrd-command.ts';
import { RrdtoolProcess, type RrdReply } from './rrdtool-process.ts';

/**
 * The small store the rrd policies are composed around, as undici composes dispatchers: one
 * rrdtool command line about one file in, its answer out. A callback, not a promise: at ten
 * thousand updates a second a promise chain per command costs more than rrdtool's work on it.
 */
export interface RrdLines {
  /**
   * Sends `line`, a command about `path`. `retryLine` is what may be sent instead if the line
   * has to go again after rrdtool died under it (an update that may have been half written
   * goes again with --skip-past-updates).
   */
  send(path: string, line: string, retryLine: string, done: RrdReply): void;
}

/**
 * The plain store: files sharded by path over a few long-lived `rrdtool -` processes, so that
 * the commands of one file stay in order on one process.
 */
export class ShardedRrdtool implements RrdLines {
  readonly #shards: RrdtoolProcess[];

  constructor(shards: RrdtoolProcess[]) {
    this.#shards = shards;
  }

  send(path: string, line: string, _retryLine: string, done: RrdReply): void {
    this.#shardFor(path).sendLine(line, done);
  }

  /** Commands written and unanswered. */
  get pending(): number {
    let n = 0;
    for (const s of this.#shards) n += s.pending;
    return n;
  }

  /** Why rrdtool is not working (it cannot start, or died and has not answered since), if it is not. */
  get problem(): string | undefined {
    return this.#shards.map((s) => s.failure).find((f) => f !== undefined);
  }

  /** Pids of the running rrdtool processes. */
  get pids(): number[] {
    return this.#shards.map((s) => s.pid).filter((p): p is number => p !== undefined);
  }

  /** Lets every process finish what it was sent, then stops them. */
  async close(): Promise<void> {
    await Promise.all(this.#shards.map((s) => s.close()));
  }

  #shardFor(path: string): RrdtoolProcess {
    let h = 0;
    for (let i = 0; i < path.length; i++) h = (Math.imul(h, 31) + path.charCodeAt(i)) | 0;
    return this.#shards[Math.abs(h) % this.#shards.length] as RrdtoolProcess;
  }
}

/**
 * Sends a command once more, as its `retryLine`, when rrdtool died under it (E_RRD_DIED): the
 * next command starts a new process, and a reading is not lost to one crash.
 */
export function retryingOnDeath(inner: RrdLines): RrdLines {
  return {
    send(path, line, retryLine, done) {
      inner.send(path, line, retryLine, (err, lines) => {
        if (err instanceof RrdError && err.code === 'E_RRD_DIED') inner.send(path, retryLine, retryLine, done);
        else done(err, lines);
      });
    },
  };
}

/**
 * rrdtool's answer when another process holds the file's lock that moment. Readers lock too
 * (`graph`, `lastupdate`, `fetch`: the status page's graphs, `list`, a user's cron job), and an
 * update meeting one fails at once without writing anything: measured, 244 of 3,000 updates
 * while `rrdtool graph` and `lastupdate` ran in loops beside them.
 */
export function isLockedError(err: unknown): boolean {
  return /could not lock RRD/i.test(errorMessage(err));
}

/** Pause between tries on a locked file; a reader holds the lock for milliseconds. */
export const LOCK_RETRY_MS = 25;
/** How long a command keeps trying a locked file before it fails. */
export const LOCK_WAIT_MS = 5_000;

/**
 * Sends the same line again every {@link LOCK_RETRY_MS} while another program holds the file's
 * lock (a locked command wrote nothing), for up to `waitMs`; then fails naming the lock. Without
 * it every reading that met a graph being drawn was lost to the rrd.
 */
export function waitingOnLocks(inner: RrdLines, waitMs = LOCK_WAIT_MS): RrdLines {
  const tries = Math.max(0, Math.ceil(waitMs / LOCK_RETRY_MS));
  const attempt = (path: string, line: string, retryLine: string, done: RrdReply, tried: number): void => {
    inner.send(path, line, retryLine, (err, lines) => {
      if (!isLockedError(err)) done(err, lines);
      else if (tried < tries) setTimeout(() => attempt(path, line, retryLine, done, tried + 1), LOCK_RETRY_MS);
      else done(new RrdError('E_RRD_COMMAND', `${errorMessage(err)}: another program held the file's lock for ${(tries * LOCK_RETRY_MS) / 1000} s (rrdtool graph, fetch or dump of it, a backup?); nothing was written`, { cause: err }), lines);
    });
  };
  return { send: (path, line, retryLine, done) => attempt(path, line, retryLine, done, 0) };
}

/** How soon an unreachable rrdcached is tried again. */
const DAEMON_RETRY_MS = 5_000;

/** Commands that take `--daemon`: what the gateway writes, and reads that must see what rrdcached holds. */
const DAEMON_VERBS = /^(update|lastupdate) /;


/**
 * How far back the updates rrdcached accepted are kept, to be sent again when it comes back after
 * a crash: its journal loses its tail on kill -9 (of 199 updates accepted over 8 s, 136 were
 * replayed; it writes the journal in 4 KiB blocks, and whole at each `-f`, 60 s as the README
 * runs it). It refuses, harmlessly, one older than what it still holds for that file.
 */
export const REPLAY_WINDOW_MS = 120_000;
/** Values kept for that, at most (the oldest go first): about 15 MB. */
const MAX_REPLAY_VALUES = 200_000;
/**
 * How long updates wait for rrdcached to come back before they go to the files directly (which
 * makes it refuse, at its next start, what its journal held for those files).
 */
export const HOLD_MS = 30_000;

interface Held {
  path: string;
  line: string;
  retryLine: string;
  done: RrdReply;
}

/** Update values of a line: the tokens that start with a time (`1796650000:21.5`) or `N:`. */
function valueTokens(line: string): string[] {
  return line.split(' ').filter((t) => /^(N|\d+(\.\d+)?)[:@]/.test(t));
}

/**
 * rrdcached fail-over around a store: `update` and `lastupdate` lines go through rrdcached
 * (`--daemon`) while it answers, so a file is written once per flush interval instead of once
 * per update (SD cards). Direct writes while it is gone would make it refuse its own journal for
 * those files when it comes back (it replays the journal, older than the files by then), so an
 * update that finds it gone **waits** (its answer too: it is stored when rrdcached takes it), and it
 * is tried again every few seconds. When it is back, the updates it accepted in the
 * {@link REPLAY_WINDOW_MS} before it went are sent again one by one (its journal may have lost
 * them; those it has are refused, harmlessly), then the waiting ones. Only if it stays away for
 * {@link HOLD_MS} do updates go to the files directly (logged).
 */
export class ViaRrdcached implements RrdLines {
  readonly address: string;
  readonly #inner: RrdLines;
  readonly #daemonArg: string;
  readonly #logger: Logger;
  /** A file rrdcached can be asked about, to see whether it is back. */
  readonly #probe: () => string | undefined;
  /** Set while rrdcached cannot be reached: since when (monotonic), and whether updates now go to the files. */
  #down: { sinceMs: number; direct: boolean } | undefined;
  #directWrites = 0;
  /** Updates waiting for rrdcached, in the order they came. */
  #held: Held[] = [];
  /** What rrdcached accepted lately, per file: its path argument and the values with when. */
  readonly #recent = new Map<string, { pathArg: string; values: Array<{ atMs: number; value: string }> }>();
  #recentCount = 0;

  constructor(inner: RrdLines, address: string, logger: Logger, probe: () => string | undefined) {
    this.#inner = inner;
    this.address = address;
    this.#daemonArg = formatCommand([address]);
    this.#logger = logger;
    this.#probe = probe;
  }

  /** Whether rrdcached is taken as unreachable now. */
  get down(): boolean {
    return this.#down !== undefined;
  }

  /** Values written to the files directly because rrdcached stayed away. */
  get directWrites(): number {
    return this.#directWrites;
  }

  /** Updates waiting for rrdcached to come back. */
  get held(): number {
    return this.#held.length;
  }

  /** Why updates do not reach rrdcached now, if they do not. */
  get problem(): string | undefined {
    const down = this.#down;
    if (down === undefined) return undefined;
    const s = Math.round((performance.now() - down.sinceMs) / 1000);
    return down.direct
      ? `rrdcached at ${this.address} unreachable for ${s} s: updates go to the files directly`
      : `rrdcached at ${this.address} unreachable for ${s} s: ${this.#held.length} update(s) wait for it`;
  }

  send(path: string, line: string, retryLine: string, done: RrdReply): void {
    if (!DAEMON_VERBS.test(line)) {
      this.#inner.send(path, line, retryLine, done);
      return;
    }
    const down = this.#down;
    if (down !== undefined) {
      if (down.direct || !line.startsWith('update ')) this.#direct(path, line, retryLine, done);
      else this.#held.push({ path, line, retryLine, done });
      return;
    }
    this.#inner.send(path, this.#viaDaemon(line), this.#viaDaemon(retryLine), (err, lines) => {
      if (err === undefined || !this.#unreachable(err)) {
        if (err === undefined && line.startsWith('update ')) this.#remember(path, line);
        done(err, lines);
        return;
      }
      this.#wentDown(err);
      this.send(path, line, retryLine, done); // waits, or goes direct
    });
  }

  /** Has rrdcached write what it holds for `paths` to their files. */
  flush(paths: readonly string[]): Promise<void> {
    if (this.#down !== undefined || paths.length === 0) return Promise.resolve();
    const line = formatCommand(['flushcached', '--daemon', this.address, ...paths]);
    return new Promise((resolve, reject) => this.#inner.send(paths[0] as string, line, line, (err) => (err === undefined ? resolve() : reject(err))));
  }

  #remember(path: string, line: string): void {
    const now = performance.now();
    let file = this.#recent.get(path);
    if (file === undefined) {
      file = { pathArg: formatCommand([path]), values: [] };
      this.#recent.set(path, file);
    }
    const values = valueTokens(line);
    for (const value of values) file.values.push({ atMs: now, value });
    this.#recentCount += values.length;
    // Forget what is past the window: the oldest first, in this file (the others as they are written).
    let old = 0;
    while (old < file.values.length && (file.values[old] as { atMs: number }).atMs < now - REPLAY_WINDOW_MS) old++;
    if (old > 0) {
      file.values.splice(0, old);
      this.#recentCount -= old;
    }
    if (this.#recentCount > MAX_REPLAY_VALUES) this.#trimRecent(now);
  }

  #trimRecent(now: number): void {
    let count = 0;
    for (const [path, file] of this.#recent) {
      file.values = file.values.filter((v) => v.atMs >= now - REPLAY_WINDOW_MS).slice(-Math.floor(MAX_REPLAY_VALUES / this.#recent.size));
      if (file.values.length === 0) this.#recent.delete(path);
      count += file.values.length;
    }
    this.#recentCount = count;
  }

  #direct(path: string, line: string, retryLine: string, done: RrdReply): void {
    this.#inner.send(path, line, retryLine, (err, lines) => {
      if (err === undefined && line.startsWith('update ')) this.#directWrites += valueTokens(line).length;
      done(err, lines);
    });
  }

  #viaDaemon(line: string): string {
    const verb = line.indexOf(' ');
    return `${line.slice(0, verb)} --daemon ${this.#daemonArg}${line.slice(verb)}`;
  }

  #unreachable(err: Error): boolean {
    return err instanceof RrdError && /rrdcached|Unable to connect|Connection refused|No such file or directory.*sock/i.test(err.message) && !/illegal attempt|minimum one second/i.test(err.message);
  }

  #wentDown(err: Error): void {
    if (this.#down !== undefined) return;
    const down = { sinceMs: performance.now(), direct: false };
    this.#down = down;
    this.#logger.warn(
      { code: 'E_RRDCACHED', rrdcached: this.address, err: errorMessage(err) },
      `rrdcached cannot be reached: updates wait for it (up to ${HOLD_MS / 1000} s, then they go to the files directly). Is it running, and is its socket where --rrdcached says?`,
    );
    setTimeout(() => this.#tryAgain(), DAEMON_RETRY_MS).unref();
    setTimeout(() => this.#goDirect(down), HOLD_MS).unref();
  }

  /** rrdcached stayed away: what waits, and what follows until it is back, goes to the files. */
  #goDirect(down: { sinceMs: number; direct: boolean }): void {
    if (this.#down !== down) return;
    down.direct = true;
    const held = this.#held;
    this.#held = [];
    this.#logger.warn(
      { code: 'E_RRDCACHED', rrdcached: this.address, held: held.length },
      `rrdcached has been unreachable for ${HOLD_MS / 1000} s: writing updates to the files directly. When it comes back it refuses what its journal held for those files (up to its -w): restart it sooner`,
    );
    for (const h of held) this.#direct(h.path, h.line, h.retryLine, h.done);
  }

  /** Probes rrdcached; when it answers, lines go through it again. */
  #tryAgain(): void {
    const down = this.#down;
    if (down === undefined) return;
    const probe = this.#probe();
    if (probe === undefined) {
      this.#back(down);
      return;
    }
    const line = formatCommand(['flushcached', '--daemon', this.address, probe]);
    this.#inner.send(probe, line, line, (err) => {
      if (this.#down !== down) return;
      if (err !== undefined) {
        setTimeout(() => this.#tryAgain(), DAEMON_RETRY_MS).unref();
        return;
      }
      this.#back(down);
    });
  }

  /** rrdcached answers again: what it may have lost goes again, then what waited. */
  #back(down: { sinceMs: number; direct: boolean }): void {
    let replayed = 0;
    if (!down.direct) {
      for (const [path, file] of this.#recent) {
        for (const v of file.values) {
          if (v.atMs < down.sinceMs - REPLAY_WINDOW_MS) continue;
          replayed++;
          // One value a command: rrdcached stops a command at its first value older than what it holds.
          this.#inner.send(path, `update --daemon ${this.#daemonArg} ${file.pathArg} ${v.value}`, `update --daemon ${this.#daemonArg} ${file.pathArg} ${v.value}`, () => undefined);
        }
      }
    }
    this.#down = undefined;
    const held = this.#held;
    this.#held = [];
    this.#logger.info(
      { rrdcached: this.address, downSeconds: Math.round((performance.now() - down.sinceMs) / 1000), sentAgain: replayed, held: held.length, directWrites: this.#directWrites },
      'rrdcached is back: updates go through it again',
    );
    for (const h of held) this.send(h.path, h.line, h.retryLine, h.done);
  }
}
