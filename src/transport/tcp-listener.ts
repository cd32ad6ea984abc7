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

export interface TcpListenerOptions {
  host: string;
  port: number;
  /** Open connections at most; more are refused. */
  maxConnections: number;
  /** Connect → hello, ms. */
  helloTimeoutMs: number;
  /** Connections from one address that have not carried a verified message yet, at most. */
  maxUnverifiedPerAddress: number;
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
  /** Unverified connections per remote address. */
  readonly #unverified = new Map<string, number>();

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
    const address = socket.remoteAddress ?? '?';
    const remote = `${address}:${socket.remotePort}`;
    const o = this.#options;
    const unverified = this.#unverified.get(address) ?? 0;
    if (unverified >= o.maxUnverifiedPerAddress) {
      // Spec "Hello and client ids": one address cannot hold the gateway's connections without a key.
      o.count('connections.refused.unverified');
      if (o.mayLog(address, 'E_TOO_MANY_UNVERIFIED')) {
        o.logger.warn(
          { code: 'E_TOO_MANY_UNVERIFIED', remote: address },
          `connection refused: ${address} already has ${unverified} connections that have not verified a key (--max-unverified-per-address)`,
        );
      }
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.#unverified.set(address, unverified + 1);
    this.#sockets.add(socket);
    const link = new TcpLink(socket, this.#policy, remote, () => this.#settleUnverified(address));
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

  /** One fewer unverified connection from `address`. */
  #settleUnverified(address: string): void {
    const n = (this.#unverified.get(address) ?? 1) - 1;
    if (n > 0) this.#unverified.set(address, n);
    else this.#unverified.delete(address);
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
