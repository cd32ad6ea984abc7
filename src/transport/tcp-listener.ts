import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { LinkConsumer, LinkPolicy, SessionLink } from '../link.ts';
import { LineParser } from './line-parser.ts';

/** rrduino's port (the original server's default). */
export const DEFAULT_PORT = 60405;

/** Open TCP connections at most, unless configured. */
/**
 * Connections the kernel may queue before they are accepted. Node's default, 511, makes the
 * kernel drop connections when thousands of boards come back at once (after a power cut or a
 * gateway restart), and each then waits a second or more to retry. The kernel caps it at
 * net.core.somaxconn.
 */
export const LISTEN_BACKLOG = 4096;

export const DEFAULT_MAX_CONNECTIONS = 4096;

/**
 * Unverified connections one address may hold. Boards behind one NAT all reconnect at
 * once after a power cut and need ~6 s each to verify, so this is not tiny; one address
 * still cannot fill `maxConnections` and lock the other boards out.
 */
export const DEFAULT_MAX_UNVERIFIED_PER_ADDRESS = 64;

/**
 * Connections from an address past its unverified limit wait, unread, for a place (as many as
 * the limit, at most): the original Ethernet firmware waits for its 32 bytes with no timeout, so a
 * board that is refused is stuck until someone resets it, while one that waits gets its answer
 * late. Past that they are refused.
 */
export const WAITING_PER_ADDRESS_FACTOR = 1;

/**
 * An unverified connection older than this gives its place to one that waits: an honest board
 * verifies within a second or so of its hello (~6 s on a real board), so what holds a place
 * longer is not a board that will verify soon.
 */
export const EVICT_UNVERIFIED_AFTER_MS = 10_000;

export interface TcpListenerOptions {
  host: string;
  port: number;
  /** Open connections at most; more are refused. */
  maxConnections: number;
  /** Connect → hello, ms. */
  helloTimeoutMs: number;
  /** Connections from one address that have not carried a verified message yet, at most. */
  maxUnverifiedPerAddress: number;
  /** An unverified connection older than this gives its place to one that waits, ms. */
  evictUnverifiedAfterMs: number;
  maxLineLength: number;
  logger: Logger;
  count: (stat: string) => void;
  /** Rate limit for lines about unauthenticated peers. */
  mayLog: (remote: string, code: string) => boolean;
}

/**
 * Accepts board connections and turns each socket into a line stream for a session.
 * All socket errors stay here: logged, the connection closed, nothing thrown.
 */
export class TcpListener {
  readonly #server: Server;
  readonly #options: TcpListenerOptions;
  readonly #policy: LinkPolicy;
  readonly #sockets = new Set<Socket>();
  /** Unverified connections per remote address, with when each was let in (monotonic ms). */
  readonly #unverified = new Map<string, Map<TcpLink, number>>();
  /** Connections waiting, unread, for a place among their address's unverified ones; oldest first. */
  readonly #waiting = new Map<string, Socket[]>();
  #startSession: ((link: SessionLink) => LinkConsumer) | undefined;

  constructor(options: TcpListenerOptions, startSession: (link: SessionLink) => LinkConsumer) {
    this.#options = options;
    // A connection can be closed, and is: that is how a board learns to say hello again.
    this.#policy = { canHangUp: true, helloTimeoutMs: options.helloTimeoutMs, unverifiedLinesAreNoise: false, lookaheadWindow: 0 };
    this.#server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) =>
      this.#accept(socket, startSession),
    );
    this.#server.maxConnections = options.maxConnections;
    this.#server.on('drop', (data) => {
      options.count('connections.refused.max');
      const remote = data?.remoteAddress ?? '?';
      if (options.mayLog(remote, 'E_TOO_MANY_CONNECTIONS')) {
        options.logger.warn({ code: 'E_TOO_MANY_CONNECTIONS', remote }, `connection refused: ${options.maxConnections} connections are open (--max-connections)`);
      }
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ port: this.#options.port, host: this.#options.host, backlog: LISTEN_BACKLOG }, () => {
        this.#server.off('error', reject);
        this.#server.on('error', (err) => this.#options.logger.error({ err }, 'TCP server error'));
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting at once; existing connections stay until {@link destroyAll}.
   * The promise resolves once the last connection is gone.
   */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  destroyAll(): void {
    for (const s of this.#sockets) s.destroy();
  }

  #accept(socket: Socket, startSession: (link: SessionLink) => LinkConsumer): void {
    this.#startSession = startSession;
    const address = socket.remoteAddress ?? '?';
    const o = this.#options;
    const unverified = this.#unverified.get(address)?.size ?? 0;
    if (unverified < o.maxUnverifiedPerAddress) {
      this.#admit(socket, address);
      return;
    }
    // Spec "Hello and client ids": one address cannot hold the gateway's connections without a key.
    const waiting = this.#waiting.get(address) ?? [];
    if (waiting.length < o.maxUnverifiedPerAddress * WAITING_PER_ADDRESS_FACTOR) {
      socket.pause(); // not read until it has a place: its hello waits in the kernel
      socket.on('error', () => undefined);
      socket.on('close', () => this.#leaveWaiting(address, socket));
      waiting.push(socket);
      this.#waiting.set(address, waiting);
      this.#sockets.add(socket);
      o.count('connections.waiting');
      this.#evictStale(address);
      if (this.#waiting.get(address)?.includes(socket)) {
        // Looked at again once the oldest place may have gone stale.
        setTimeout(() => this.#evictStale(address), this.#options.evictUnverifiedAfterMs).unref();
      }
      return;
    }
    o.count('connections.refused.unverified');
    if (o.mayLog(address, 'E_TOO_MANY_UNVERIFIED')) {
      o.logger.warn(
        { code: 'E_TOO_MANY_UNVERIFIED', remote: address },
        `connection refused: ${address} already has ${unverified} connections that have not verified a key and ${waiting.length} waiting (--max-unverified-per-address)`,
      );
    }
    socket.on('error', () => undefined);
    socket.destroy();
  }

  /** Gives a waiting connection the place of the oldest unverified one of its address that has held it too long. */
  #evictStale(address: string): void {
    if ((this.#waiting.get(address)?.length ?? 0) === 0) return;
    const now = performance.now();
    let oldest: [TcpLink, number] | undefined;
    for (const entry of this.#unverified.get(address) ?? []) if (oldest === undefined || entry[1] < oldest[1]) oldest = entry;
    if (oldest === undefined || now - oldest[1] < this.#options.evictUnverifiedAfterMs) return;
    this.#options.count('connections.evicted');
    oldest[0].hangUp(); // its close gives the place to the first that waits
  }

  #leaveWaiting(address: string, socket: Socket): void {
    const waiting = this.#waiting.get(address);
    const i = waiting?.indexOf(socket) ?? -1;
    if (waiting === undefined || i < 0) return;
    waiting.splice(i, 1);
    if (waiting.length === 0) this.#waiting.delete(address);
    this.#sockets.delete(socket);
  }

  #admit(socket: Socket, address: string): void {
    const startSession = this.#startSession as (link: SessionLink) => LinkConsumer;
    const remote = `${address}:${socket.remotePort}`;
    this.#sockets.add(socket);
    const link: TcpLink = new TcpLink(socket, this.#policy, remote, () => this.#settleUnverified(address, link));
    const places = this.#unverified.get(address) ?? new Map<TcpLink, number>();
    places.set(link, performance.now());
    this.#unverified.set(address, places);
    const session = startSession(link);
    const parser = new LineParser({ maxLineLength: this.#options.maxLineLength }, (frame) => session.onFrame(frame));
    socket.on('data', (chunk: Buffer) => parser.write(chunk));
    socket.on('end', () => parser.end());
    socket.on('error', (err) => this.#options.logger.debug({ remote, err: err.message }, 'socket error'));
    socket.on('close', () => {
      link.verified();
      this.#sockets.delete(socket);
      void session.onLinkClosed();
    });
  }

  /** One fewer unverified connection from `address`: the first that waits takes its place. */
  #settleUnverified(address: string, link: TcpLink): void {
    const places = this.#unverified.get(address);
    places?.delete(link);
    if (places?.size === 0) this.#unverified.delete(address);
    const waiting = this.#waiting.get(address);
    const next = waiting?.shift();
    if (waiting?.length === 0) this.#waiting.delete(address);
    if (next === undefined) return;
    next.removeAllListeners('close');
    next.removeAllListeners('error');
    if (next.destroyed) {
      this.#sockets.delete(next);
      this.#settleUnverified(address, link); // gone while it waited: the next one
      return;
    }
    this.#admit(next, address);
    next.resume();
  }
}

/**
 * A board's socket as its session's link. A class rather than an object of closures: with
 * 10,000 boards connected every byte held per connection counts.
 */
class TcpLink implements SessionLink {
  readonly transport = 'tcp';
  readonly policy: LinkPolicy;
  readonly remote: string;
  readonly #socket: Socket;
  /** Until the first verified message (or the close): counts the connection as unverified. */
  #unverified: (() => void) | undefined;

  constructor(socket: Socket, policy: LinkPolicy, remote: string, settle: () => void) {
    this.#socket = socket;
    this.policy = policy;
    this.remote = remote;
    this.#unverified = settle;
  }

  write(bytes: Buffer): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  hangUp(): void {
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  verified(): void {
    const settle = this.#unverified;
    this.#unverified = undefined;
    settle?.();
  }
}
