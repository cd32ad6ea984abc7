import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConfigError, DeliveryError, errorMessage } from '../errors.ts';

/** Default re-send window of the stream destinations (carbon, DalmatinerDB), ms: docs/delivery.md. */
export const DEFAULT_RESEND_WINDOW_MS = 5_000;

/** A PEM CA bundle for TLS; a file that cannot be read is a configuration error naming it. */
export function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError('E_CONFIG_INVALID', `cannot read CA file ${file}: ${errorMessage(err)}`);
  }
}

/** `host:port`, `[v6]:port` or `tls://host:port`. */
export interface StreamAddress {
  host: string;
  port: number;
  tls: boolean;
}

export function parseAddress(text: string): StreamAddress {
  const m = /^(?:(tls|tcp):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    throw new ConfigError('E_CONFIG_INVALID', `address '${text}' must be host:port or tls://host:port`);
  }
  return { host: (m[2] as string).replace(/^\[|\]$/g, ''), port, tls: m[1] === 'tls' };
}

export interface StreamConnectionOptions {
  address: StreamAddress;
  /** PEM CA bundle for TLS; default the system's CAs. */
  caFile?: string;
  connectTimeoutMs?: number;
  /** Bytes to send first on every new connection (DalmatinerDB's stream init). */
  greeting?: Buffer;
  /**
   * A write counts as delivered once the connection it went out on has lived this many ms
   * after it without breaking. Carbon and DalmatinerDB acknowledge nothing, so bytes the kernel
   * took may still die with the peer (or behind a relay or proxy); both store by timestamp, so
   * sending them again overwrites the same slot. 0: delivered once the kernel took them. Default 0.
   */
  resendWindowMs?: number;
}

/** A write waiting for its resend window to pass. */
interface Pending {
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
  readonly reject: (err: Error) => void;
}

/**
 * One long-lived TCP or TLS connection to a destination, (re)opened on the next
 * write after it broke. A write resolves once the bytes are handed to the kernel, with its
 * settlement (see `resendWindowMs`): the caller keeps what it wrote until then, and sends it
 * again if the connection breaks first. A peer that closes its side (FIN) is taken as gone at
 * once, so nothing more is written into a socket nobody reads.
 */
export class StreamConnection {
  readonly #o: StreamConnectionOptions;
  readonly #ca: Buffer | undefined;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  /** Writes in their resend window. */
  readonly #pending = new Set<Pending>();

  constructor(options: StreamConnectionOptions) {
    this.#o = options;
    if (options.caFile) this.#ca = readCaFile(options.caFile);
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /**
   * Writes self-contained messages; resolves once the kernel took them, with `delivered`, which
   * settles when the resend window passed and rejects (retryable DeliveryError) when the
   * connection broke first. The write itself rejects with a retryable DeliveryError.
   */
  async write(bytes: Buffer | string): Promise<{ delivered: Promise<void> }> {
    const socket = this.#socket ?? (await this.#connect());
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    await this.#writeTo(socket, buf);
    return { delivered: this.#window(socket) };
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#breakWindows(undefined, 'the connection was closed');
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
  }

  #window(socket: Socket): Promise<void> {
    const ms = this.#o.resendWindowMs ?? 0;
    if (ms <= 0) return Promise.resolve();
    if (this.#socket !== socket) return Promise.reject(this.#broken('the connection broke right after the write'));
    const settled = new Promise<void>((resolve, reject) => {
      const pending: Pending = {
        socket,
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(pending);
          resolve();
        }, ms).unref(),
      };
      this.#pending.add(pending);
    });
    // The caller handles it; this only keeps a rejection nobody waits for yet from being "unhandled".
    settled.catch(() => undefined);
    return settled;
  }

  /** Writes in their window on `socket` (every one, when undefined) may have been lost. */
  #breakWindows(socket: Socket | undefined, why: string): void {
    for (const p of this.#pending) {
      if (socket !== undefined && p.socket !== socket) continue;
      clearTimeout(p.timer);
      this.#pending.delete(p);
      p.reject(this.#broken(why));
    }
  }

  #broken(why: string): DeliveryError {
    return new DeliveryError(`${why} within the resend window of ${this.#label()}; sending again`, true);
  }

  #connect(): Promise<Socket> {
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      const { host, port, tls } = this.#o.address;
      const socket = tls
        ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ca: this.#ca })
        : netConnect({ host, port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      const timer = setTimeout(() => socket.destroy(new Error('connect timed out')), this.#o.connectTimeoutMs ?? 10_000);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new DeliveryError(`cannot connect to ${this.#label()}: ${err.message}`, true, { cause: err }));
      };
      socket.once('error', fail);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.on('error', () => this.#drop(socket));
        socket.on('end', () => this.#drop(socket));
        socket.on('close', () => this.#drop(socket));
        socket.on('data', () => undefined); // replies are not expected in stream mode; keep reading
        this.#socket = socket;
        if (this.#o.greeting) socket.write(this.#o.greeting);
        resolve(socket);
      });
    }).finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #writeTo(socket: Socket, buf: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      socket.write(buf, (err) => {
        if (err) {
          this.#drop(socket);
          reject(new DeliveryError(`write to ${this.#label()} failed: ${err.message}`, true, { cause: err }));
        } else resolve();
      });
    });
  }

  #drop(socket: Socket): void {
    if (this.#socket === socket) this.#socket = undefined;
    this.#breakWindows(socket, 'the connection broke');
    socket.destroy();
  }

  #label(): string {
    const a = this.#o.address;
    return `${a.tls ? 'tls://' : ''}${a.host}:${a.port}`;
  }
}
