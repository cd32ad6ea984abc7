import type { Logger } from 'pino';
import { GatewayClock } from '../clock/gateway-clock.ts';
import { hostOf, LogLimiter } from '../log-limiter.ts';
import { describeProfile, type ProfileStore } from '../profiles/profile-store.ts';
import type { Reading, ReadingSink } from '../reading.ts';
import { RrdService } from '../rrd/rrd-service.ts';
import { Stats } from '../stats.ts';
import type { ActiveSession, Backend } from './backend.ts';
import { BoardRegistry } from './board-registry.ts';

export interface LocalBackendOptions {
  logger: Logger;
  /** Where relative rrd paths resolve. */
  dataDir: string;
  /** The boards' profiles: a board's rrd step (from its handler's description) sets when it counts as silent. */
  profiles: ProfileStore;
  /** rrdtool processes. Default 2. */
  rrdProcesses?: number;
  /** The rrdtool binary. Default `rrdtool` on the PATH. */
  rrdtool?: string;
  /** rrdcached's address: updates go through it (see RrdServiceOptions). */
  rrdcached?: string;
  /** Where every verified reading goes besides the rrd (the destinations). */
  sink?: ReadingSink;
  /** Counters; pass one in to share it with the destinations. */
  stats?: Stats;
  /** The board table's wall clock (tests step it). */
  now?: () => number;
  /** Where readings' stamps come from; default: a clock keeping its floor in `dataDir`. */
  clock?: GatewayClock;
}

/** How often silent boards are looked for. */
const SILENCE_CHECK_MS = 30_000;

/**
 * The backend in the process that owns the state: the rrd files (through long-lived rrdtool
 * processes or rrdcached), the board table, the destinations, the counters and the silence
 * check. Sessions in this process report to it directly, session workers through the worker
 * pool; the status page, `/metrics` and the worker pool read it.
 */
export class LocalBackend implements Backend {
  readonly logger: Logger;
  readonly stats: Stats;
  readonly rrd: RrdService;
  /** Every board's state: connected, last seen, last values, errors. */
  readonly boards: BoardRegistry;
  readonly dataDir: string;
  readonly profiles: ProfileStore;
  /** The readings' stamps. */
  readonly clock: GatewayClock;
  readonly #sink: ReadingSink | undefined;
  readonly #active = new Map<string, ActiveSession>();
  readonly #silence: NodeJS.Timeout;
  /** One W_DUPLICATE_ID line per board and hour. */
  readonly #duplicates: LogLimiter;

  constructor(o: LocalBackendOptions) {
    this.logger = o.logger;
    this.stats = o.stats ?? new Stats();
    this.dataDir = o.dataDir;
    this.profiles = o.profiles;
    this.#sink = o.sink;
    this.clock = o.clock ?? new GatewayClock({ dataDir: o.dataDir, logger: o.logger });
    this.rrd = new RrdService({ processes: o.rrdProcesses, binary: o.rrdtool, rrdcached: o.rrdcached, logger: o.logger.child({ part: 'rrdtool' }) });
    this.boards = new BoardRegistry(o.logger, o.now);
    this.stats.gauge('boards.connected', () => this.boards.connectedCount);
    let silent = 0;
    this.stats.gauge('boards.silent', () => silent);
    this.#silence = setInterval(() => (silent = this.checkSilence()), SILENCE_CHECK_MS);
    this.#silence.unref();
    this.#duplicates = new LogLimiter(o.logger, { perWindow: 1, windowMs: 3_600_000, now: () => performance.now() });
  }

  /** Boards with a verified session now. */
  get activeBoards(): number {
    return this.#active.size;
  }

  now(): number {
    return this.clock.now();
  }

  record(reading: Reading): void {
    this.boards.seen(reading.clientId, reading.values, reading.timeMs);
    this.#sink?.publish(reading);
  }

  count(stat: string, clientId?: string): void {
    this.stats.count(stat);
    if (clientId !== undefined && stat.startsWith('errors.')) this.boards.error(clientId, stat.slice('errors.'.length));
  }

  claim(clientId: string, session: ActiveSession): void {
    const previous = this.#active.get(clientId);
    this.#active.set(clientId, session);
    if (previous && previous !== session) {
      if (placeOf(previous.link) !== placeOf(session.link)) this.#sharedId(clientId, previous.link.remote, session.link.remote);
      previous.supersede();
    }
    this.boards.connected(clientId, session.link.transport, session.link.remote);
  }

  /**
   * A verified session of a board took over one from another place: two boards flashed with one
   * id do that at every reading (each a new handshake), which is otherwise seen only in a counter.
   */
  #sharedId(clientId: string, before: string, now: string): void {
    this.count('errors.W_DUPLICATE_ID', clientId);
    if (!this.#duplicates.allow(clientId, 'W_DUPLICATE_ID')) return;
    this.logger.warn(
      { code: 'W_DUPLICATE_ID', clientId, addresses: [before, now] },
      `board ${clientId} verified from ${now} while its session from ${before} was open: two boards with one id (and one key) take turns, each reading a new handshake. Give each board its own id (firmware), or unplug the old one`,
    );
  }

  release(clientId: string, session: ActiveSession, reason: string): void {
    if (this.#active.get(clientId) !== session) return;
    this.#active.delete(clientId);
    this.boards.disconnected(clientId, reason);
  }

  /** Warns once for each board silent for more than 3 of its rrd steps; returns how many are. */
  checkSilence(): number {
    return this.boards.checkSilence((clientId) => {
      const profile = this.profiles.peek(clientId);
      const step = profile && describeProfile(profile, this.dataDir).rrd?.stepSeconds;
      return step === undefined ? undefined : 3 * step * 1000;
    });
  }

  /** After the sessions stopped: rrdtool finishes and closes, the destinations write what waits to their spools. */
  async close(): Promise<void> {
    clearInterval(this.#silence);
    this.#duplicates.close();
    await this.rrd.close();
    await this.#sink?.close();
    this.clock.close();
  }
}

/** Where a session is: a TCP board's host (its port changes at every connect), a serial board's port. */
function placeOf(link: ActiveSession['link']): string {
  return `${link.transport} ${link.transport === 'tcp' ? hostOf(link.remote) : link.remote}`;
}
