import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SessionLink } from '../board-session.ts';
import { LineParser, type Frame } from './line-parser.ts';

/** rrduino's port (the original server's default). */
export const DEFAULT_PORT = 60405;

export interface TcpListenerOptions {
  host: string;
  port: number;
  /** Open connections at most; more are refused. Default 4096. */
  maxConnections: number;
  maxLineLength: number;
  logger: Logger;
}

/** What the listener needs from whoever runs sessions. */
export interface LinkConsumer {
  onFrame(frame: Frame): void;
  onLinkClosed(): Promise<void>;
}

/**
 * Accepts board connections and turns each socket into a line stream for a session.
 * All socket errors stay here: logged, the connection closed, nothing thrown.
 */
export class TcpListener {
  readonly #server: Server;
  readonly #options: TcpListenerOptions;
  readonly #sockets = new Set<Socket>();

  constructor(options: TcpListenerOptions, startSession: (link: SessionLink) => LinkConsumer) {
    this.#options = options;
    this.#server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (socket) =>
      this.#accept(socket, startSession),
    );
    this.#server.maxConnections = options.maxConnections;
    this.#server.on('drop', (data) => options.logger.warn({ remote: data?.remoteAddress }, 'connection refused: too many connections'));
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
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
    this.#sockets.add(socket);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const parser = new LineParser({ maxLineLength: this.#options.maxLineLength });
    const link: SessionLink = {
      transport: 'tcp',
      remote,
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      hangUp: () => socket.destroy(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    };
    const session = startSession(link);
    parser.on('data', (frame: Frame) => session.onFrame(frame));
    // Not pipe(): pipe() resumes the socket on 'drain' and would undo the session's pause.
    socket.on('data', (chunk: Buffer) => parser.write(chunk));
    socket.on('end', () => parser.end());
    socket.on('error', (err) => this.#options.logger.debug({ remote, err: err.message }, 'socket error'));
    socket.on('close', () => {
      this.#sockets.delete(socket);
      parser.destroy();
      void session.onLinkClosed();
    });
  }
}
