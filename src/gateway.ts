import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BackoffOptions } from './backoff.ts';
import { BoardSession, DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_LIMITS, secureRandom, type SessionHub, type SessionLimits } from './board-session.ts';
import { ConfigError, errorMessage } from './errors.ts';
import type { ActiveSession, Backend } from './backend/backend.ts';
import type { HandlerContext } from './handlers/base-handler.ts';
import { LogLimiter, hostOf } from './log-limiter.ts';
import type { Profile, ProfileStore } from './profiles/profile-store.ts';
import type { SessionLink } from './link.ts';
import type { Reading } from './reading.ts';
import type { RrdStore } from './rrd/rrd-store.ts';
import { DEFAULT_MAX_LINE_LENGTH } from './transport/line-parser.ts';
import { SerialLine, type SerialSpec } from './transport/serial-line.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_UNVERIFIED_PER_ADDRESS, EVICT_UNVERIFIED_AFTER_MS, DEFAULT_PORT, TcpListener } from './transport/tcp-listener.ts';

export interface GatewayOptions {
  /** The boards' profiles, read at each board's hello. */
  profiles: ProfileStore;
  /** Where relative rrd paths resolve, as handlers see it. */
  dataDir: string;
  logger: Logger;
  /** Where sessions and handlers report: a {@link LocalBackend}, or a session worker's channel to the primary. */
  backend: Backend;
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
  /** An unverified connection older than this gives its place to one that waits. Default {@link EVICT_UNVERIFIED_AFTER_MS}. */
  evictUnverifiedAfterMs?: number;
  /** Whether listening is logged here; a session worker's is the primary's to announce, once for all. Default true. */
  announce?: boolean;
  /** Readings' stamps; default: the backend's (Backend.now). */
  now?: () => number;
  random?: (bytes: number) => Buffer;
}

/**
 * Hosts the boards' sessions: TCP and serial links → sessions → handlers, which report to the
 * backend it is given. It owns no rrd file, board table or destination, and never asks which
 * backend it has.
 */
export class Gateway implements SessionHub {
  readonly logger: Logger;
  readonly profiles: ProfileStore;
  readonly #options: GatewayOptions;
  readonly #backend: Backend;
  readonly #limiter: LogLimiter;
  /** Profiles whose warnings were logged; a changed file is a new object, so it warns again. */
  readonly #warned = new WeakSet<Profile>();
  readonly #limits: SessionLimits;
  readonly #sessions = new Set<BoardSession>();
  #tcp: TcpListener | undefined;
  readonly #closers: Array<() => Promise<void>> = [];

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.logger = options.logger;
    this.profiles = options.profiles;
    this.#backend = options.backend;
    this.#limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
    this.#limiter = new LogLimiter(options.logger);
  }

  /** Where relative rrd paths resolve. */
  get dataDir(): string {
    return this.#options.dataDir;
  }

  async listenTcp(host = '0.0.0.0', port = DEFAULT_PORT): Promise<AddressInfo> {
    const tcp = new TcpListener(
      {
        host,
        port,
        maxConnections: this.#options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        helloTimeoutMs: this.#options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
        maxUnverifiedPerAddress: this.#options.maxUnverifiedPerAddress ?? DEFAULT_MAX_UNVERIFIED_PER_ADDRESS,
        evictUnverifiedAfterMs: this.#options.evictUnverifiedAfterMs ?? EVICT_UNVERIFIED_AFTER_MS,
        maxLineLength: this.#options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
        logger: this.logger,
        count: (stat) => this.count(stat),
        mayLog: (remote, code) => this.mayLog(remote, code),
      },
      (link) => this.openSession(link),
    );
    const address = await tcp.listen();
    this.#tcp = tcp;
    if (this.#options.announce ?? true) this.logger.info({ host: address.address, port: address.port }, 'listening for boards over TCP');
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

  /** Registers something to stop with the sessions (serial ports, the status page, session workers). */
  onClose(closer: () => Promise<void>): void {
    this.#closers.push(closer);
  }

  /** Graceful stop: no new boards, in-flight updates finish; the backend is the caller's to close after. */
  async close(): Promise<void> {
    const stopped = this.#tcp?.stopAccepting();
    // Nothing more is read from any board; what was read is stored before the links close.
    for (const s of this.#sessions) s.stopReading();
    await Promise.all([...this.#sessions].map((s) => s.drain()));
    this.#tcp?.destroyAll();
    await stopped;
    for (const closer of this.#closers) await closer();
    await Promise.all([...this.#sessions].map((s) => s.onLinkClosed()));
    this.#limiter.close();
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
    return new BoardContext(this, this.#backend, profile, session, this.#options.now ?? (() => this.#backend.now()));
  }

  /** Whether a line about `subject` with `code` may be logged now (see HandlerContext.mayLog). */
  mayLogAbout(subject: string, code: string): boolean {
    return this.#limiter.allow(subject, code);
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
  readonly #backend: Backend;
  readonly #session: { readonly logger: Logger };

  constructor(gateway: Gateway, backend: Backend, profile: Profile, session: { readonly logger: Logger }, now: () => number) {
    this.#gateway = gateway;
    this.#backend = backend;
    this.clientId = profile.clientId;
    this.#session = session;
    this.rrd = backend.rrd;
    this.dataDir = gateway.dataDir;
    this.profileFile = profile.file;
    this.now = now;
  }

  /** The session's logger, made when a handler logs (seldom), not kept by every board. */
  get logger(): Logger {
    return this.#session.logger;
  }

  publish(reading: Reading): void {
    this.#backend.record(reading);
  }

  count(stat: string): void {
    this.#backend.count(stat, this.clientId);
  }

  mayLog(subject: string, code: string): boolean {
    return this.#gateway.mayLogAbout(subject, code);
  }
}

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
