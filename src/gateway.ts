import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BackoffOptions } from './backoff.ts';
import { BoardSession, DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_LIMITS, secureRandom, type SessionHub, type SessionLimits } from './board-session.ts';
import { ConfigError, errorMessage } from './errors.ts';
import type { ActiveSession, GatewayBackend } from './gateway-backend.ts';
import type { HandlerContext } from './handlers/base-handler.ts';
import { HandlerRegistry } from './handlers/handler-registry.ts';
import { LogLimiter, hostOf } from './log-limiter.ts';
import type { Profile } from './profiles/profile-store.ts';
import { ProfileStore } from './profiles/profile-store.ts';
import type { SessionLink } from './link.ts';
import type { Reading, ReadingSink } from './reading.ts';
import type { RrdStore } from './rrd/rrd-store.ts';
import { RrdService } from './rrd/rrd-service.ts';
import { Stats } from './stats.ts';
import { BoardRegistry } from './status/board-registry.ts';
import { stepSecondsOf } from './handlers/rrduino-handler.ts';
import { DEFAULT_MAX_LINE_LENGTH } from './transport/line-parser.ts';
import { SerialLine, type SerialSpec } from './transport/serial-line.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNVERIFIED_PER_ADDRESS, DEFAULT_PORT, TcpListener } from './transport/tcp-listener.ts';

export interface GatewayOptions {
  profilesDir: string;
  dataDir: string;
  logger: Logger;
  registry?: HandlerRegistry;
  /** rrdtool processes. Default 2. */
  rrdProcesses?: number;
  /** The rrdtool binary. Default `rrdtool` on the PATH. */
  rrdtool?: string;
  /** rrdcached's address: updates go through it (see RrdServiceOptions). */
  rrdcached?: string;
  /** Session limits, every link (defaults: {@link DEFAULT_LIMITS}). */
  limits?: Partial<SessionLimits>;
  /** TCP: connect → hello, ms. Default {@link DEFAULT_HELLO_TIMEOUT_MS}. */
  helloTimeoutMs?: number;
  /** Serial reopen backoff (tests shorten it). */
  serialRetry?: BackoffOptions;
  maxLineLength?: number;
  maxConnections?: number;
  /** TCP connections from one address that have not verified yet, at most. Default {@link DEFAULT_MAX_UNVERIFIED_PER_ADDRESS}. */
  maxUnverifiedPerAddress?: number;
  /** Where every verified reading goes besides the rrd (the destinations). */
  sink?: ReadingSink;
  /** Counters; pass one in to share it with the destinations. */
  stats?: Stats;
  now?: () => number;
  random?: (bytes: number) => Buffer;
  /** In a session worker: the primary process that owns the rrd files, board table and destinations. */
  backend?: GatewayBackend;
}

/** Wires links → sessions → handlers → rrd → destinations. */
export class Gateway implements SessionHub {
  readonly logger: Logger;
  readonly stats: Stats;
  readonly profiles: ProfileStore;
  readonly rrd: RrdService;
  readonly registry: HandlerRegistry;
  /** Every board's state: connected, last seen, last values, errors. */
  readonly boards: BoardRegistry;
  readonly #options: GatewayOptions;
  readonly #limiter: LogLimiter;
  /** Profiles whose warnings were logged; a changed file is a new object, so it warns again. */
  readonly #warned = new WeakSet<Profile>();
  readonly #limits: SessionLimits;
  readonly #sessions = new Set<BoardSession>();
  readonly #active = new Map<string, ActiveSession>();
  /**
   * Where sessions and handlers report: this gateway's own rrd files, board table and
   * destinations, or, in a session worker, the primary process.
   */
  readonly #backend: GatewayBackend;
  #tcp: TcpListener | undefined;
  readonly #closers: Array<() => Promise<void>> = [];
  readonly #afterClose: Array<() => Promise<void>> = [];

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.logger = options.logger;
    this.stats = options.stats ?? new Stats();
    this.registry = options.registry ?? HandlerRegistry.withBuiltins();
    this.profiles = new ProfileStore(options.profilesDir, this.registry, (err, serving) =>
      this.logger.error({ code: err.code, file: err.file, field: err.field, clientId: serving.clientId }, `${errorMessage(err)}; serving its last good version until the file is fixed`),
    );
    this.rrd = new RrdService({ processes: options.rrdProcesses, binary: options.rrdtool, rrdcached: options.rrdcached, logger: options.logger.child({ part: 'rrdtool' }) });
    this.#backend = options.backend ?? {
      rrd: this.rrd,
      publish: (reading) => this.#record(reading),
      count: (stat, clientId) => this.#countHere(stat, clientId),
      claim: (clientId, session) => this.#claimHere(clientId, session),
      release: (clientId, session, reason) => this.#releaseHere(clientId, session, reason),
    };
    this.#limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
    this.#limiter = new LogLimiter(options.logger);
    // Its own wall clock: the gateway's `now` is read once per reading, and tests step it.
    this.boards = new BoardRegistry(options.logger);
    this.stats.gauge('boards.connected', () => this.boards.connectedCount);
    let silent = 0;
    this.stats.gauge('boards.silent', () => silent);
    const silence = setInterval(() => (silent = this.checkSilence()), SILENCE_CHECK_MS);
    silence.unref();
    this.onClose(() => Promise.resolve(clearInterval(silence)));
  }

  /** Warns once for each board silent for more than 3 of its rrd steps; returns how many are. */
  checkSilence(): number {
    return this.boards.checkSilence((clientId) => {
      const step = stepSecondsOf(this.profiles.peek(clientId)?.options);
      return step === undefined ? undefined : 3 * step * 1000;
    });
  }

  /** Where relative rrd paths resolve. */
  get dataDir(): string {
    return this.#options.dataDir;
  }

  /** Boards with a verified session now. */
  get activeBoards(): number {
    return this.#active.size;
  }

  async listenTcp(host = '0.0.0.0', port = DEFAULT_PORT): Promise<AddressInfo> {
    const tcp = new TcpListener(
      {
        host,
        port,
        maxConnections: this.#options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        helloTimeoutMs: this.#options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
        maxUnverifiedPerAddress: this.#options.maxUnverifiedPerAddress ?? DEFAULT_MAX_UNVERIFIED_PER_ADDRESS,
        maxLineLength: this.#options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
        logger: this.logger,
        count: (stat) => this.count(stat),
        mayLog: (remote, code) => this.mayLog(remote, code),
      },
      (link) => this.openSession(link),
    );
    const address = await tcp.listen();
    this.#tcp = tcp;
    // A worker's listening is the primary's to announce, once for all of them.
    if (this.#options.backend === undefined) this.logger.info({ host: address.address, port: address.port }, 'listening for boards over TCP');
    return address;
  }

  /** Starts a session on any link (TCP socket, serial port, a test's in-memory pair). */
  openSession(link: SessionLink, limits: SessionLimits = this.#limits): BoardSession {
    const session = new BoardSession(link, this, limits);
    this.#sessions.add(session);
    return session;
  }

  /** Serves one board on a serial device; reopens it whenever it comes back. */
  attachSerial(spec: SerialSpec): SerialLine {
    const line = new SerialLine(
      {
        ...spec,
        maxLineLength: this.#options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
        logger: this.logger,
        retry: this.#options.serialRetry,
      },
      (link) => this.openSession(link),
    );
    this.onClose(() => line.stop());
    line.start();
    return line;
  }

  /** Registers something to run once everything else has stopped (the data dir's lock). */
  afterClose(last: () => Promise<void>): void {
    this.#afterClose.push(last);
  }

  /** Registers something to stop at shutdown (serial ports). */
  onClose(closer: () => Promise<void>): void {
    this.#closers.push(closer);
  }

  /** Graceful stop: no new boards, in-flight updates finish, rrdtool closes. */
  async close(): Promise<void> {
    const stopped = this.#tcp?.stopAccepting();
    await Promise.all([...this.#sessions].map((s) => s.drain()));
    this.#tcp?.destroyAll();
    await stopped;
    for (const closer of this.#closers) await closer();
    await Promise.all([...this.#sessions].map((s) => s.onLinkClosed()));
    await this.rrd.close();
    await this.#options.sink?.close();
    this.#limiter.close();
    for (const last of this.#afterClose) await last();
    if (this.#options.backend === undefined) this.logger.info({ stats: this.stats.snapshot() }, 'gateway stopped');
  }

  // SessionHub

  lookupProfile(clientId: string): Promise<Profile | undefined> {
    return this.profiles.get(clientId).then((p) => {
      if (p) this.warnAbout(p);
      return p;
    });
  }

  /** Reads every profile, logging the invalid ones and each one's warnings; returns the valid ones. */
  async scanProfiles(): Promise<Profile[]> {
    const { profiles, errors } = await this.profiles.loadAll();
    for (const err of errors) this.logger.error({ code: err.code, file: err.file, field: err.field }, errorMessage(err));
    for (const p of profiles) this.warnAbout(p);
    return profiles;
  }

  /** Logs a profile's warnings (a short key) once per version of its file. */
  warnAbout(profile: Profile): void {
    if (profile.warnings.length === 0 || this.#warned.has(profile)) return;
    this.#warned.add(profile);
    for (const w of profile.warnings) this.logger.warn({ code: w.code, clientId: profile.clientId, file: profile.file }, w.message);
  }

  makeContext(profile: Profile, session: { readonly logger: Logger }): HandlerContext {
    return new BoardContext(this, profile, session, this.#options.now ?? Date.now);
  }

  /** The rrd files as handlers reach them: the RrdService here, the primary's in a worker. */
  get handlerRrd(): RrdStore {
    return this.#backend.rrd;
  }

  /** Whether a line about `subject` with `code` may be logged now (see HandlerContext.mayLog). */
  mayLogAbout(subject: string, code: string): boolean {
    return this.#limiter.allow(subject, code);
  }

  /** A verified reading: into the board table, then to the destinations. */
  publish(reading: Reading): void {
    this.#backend.publish(reading);
  }

  count(stat: string, clientId?: string): void {
    this.#backend.count(stat, clientId);
  }

  /** A session's first verified message (here, or in a worker): the board's older session ends, wherever it is. */
  claim(clientId: string, session: ActiveSession): void {
    this.#backend.claim(clientId, session);
  }

  release(clientId: string, session: ActiveSession, reason: string): void {
    this.#backend.release(clientId, session, reason);
  }

  #record(reading: Reading): void {
    this.boards.seen(reading.clientId, reading.values, reading.timeMs);
    this.#options.sink?.publish(reading);
  }

  #countHere(stat: string, clientId?: string): void {
    this.stats.count(stat);
    if (clientId !== undefined && stat.startsWith('errors.')) this.boards.error(clientId, stat.slice('errors.'.length));
  }

  #claimHere(clientId: string, session: ActiveSession): void {
    const previous = this.#active.get(clientId);
    this.#active.set(clientId, session);
    if (previous && previous !== session) previous.supersede();
    this.boards.connected(clientId, session.link.transport, session.link.remote);
  }

  #releaseHere(clientId: string, session: ActiveSession, reason: string): void {
    if (this.#active.get(clientId) !== session) return;
    this.#active.delete(clientId);
    this.boards.disconnected(clientId, reason);
  }

  sessionClosed(session: BoardSession): void {
    this.#sessions.delete(session);
  }

  mayLog(remote: string, code: string): boolean {
    return this.#limiter.allow(hostOf(remote), code);
  }

  random(bytes: number): Buffer {
    return (this.#options.random ?? secureRandom)(bytes);
  }
}

/**
 * What one board's handler is given. A class rather than an object of closures: every connected
 * board keeps one.
 */
class BoardContext implements HandlerContext {
  readonly clientId: string;
  readonly rrd: RrdStore;
  readonly dataDir: string;
  readonly profileFile: string;
  readonly now: () => number;
  readonly #gateway: Gateway;

  readonly #session: { readonly logger: Logger };

  constructor(gateway: Gateway, profile: Profile, session: { readonly logger: Logger }, now: () => number) {
    this.#gateway = gateway;
    this.clientId = profile.clientId;
    this.#session = session;
    this.rrd = gateway.handlerRrd;
    this.dataDir = gateway.dataDir;
    this.profileFile = profile.file;
    this.now = now;
  }

  /** The session's logger, made when a handler logs (seldom), not kept by every board. */
  get logger(): Logger {
    return this.#session.logger;
  }

  publish(reading: Reading): void {
    this.#gateway.publish(reading);
  }

  count(stat: string): void {
    this.#gateway.count(stat, this.clientId);
  }

  mayLog(subject: string, code: string): boolean {
    return this.#gateway.mayLogAbout(subject, code);
  }
}

/** How often silent boards are looked for. */
const SILENCE_CHECK_MS = 30_000;

/** Checks session limits against the protocol's floors (docs/protocol.md, "Time limits"). */
export function checkLimits(limits: SessionLimits): SessionLimits {
  if (limits.handshakeTimeoutMs < 15_000) {
    throw new ConfigError('E_CONFIG_INVALID', 'handshake timeout must be at least 15 s: a real board needs about 6 s to derive its key');
  }
  for (const [name, v] of Object.entries(limits)) {
    if (!Number.isFinite(v) || v < 0) throw new ConfigError('E_CONFIG_INVALID', `${name} must be a non-negative number`);
  }
  return limits;
}
