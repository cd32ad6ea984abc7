import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConfigError, DeliveryError, errorMessage } from '../errors.ts';

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
  greeting?: () => Buffer;
}

/**
 * One long-lived TCP or TLS connection to a destination, (re)opened on the next
 * write after it broke. A write resolves once the bytes are handed to the kernel.
 * A peer that closes its side (FIN) is taken as gone at once, so nothing more is
 * written into a socket nobody reads.
 */
export class StreamConnection {
  readonly #o: StreamConnectionOptions;
  readonly #ca: Buffer | undefined;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;

  constructor(options: StreamConnectionOptions) {
    this.#o = options;
    if (options.caFile) {
      try {
        this.#ca = readFileSync(options.caFile);
      } catch (err) {
        throw new ConfigError('E_CONFIG_INVALID', `cannot read CA file ${options.caFile}: ${errorMessage(err)}`);
      }
    }
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  async write(bytes: Buffer | string): Promise<void> {
    const socket = this.#socket ?? (await this.#connect());
    await new Promise<void>((resolve, reject) => {
      socket.write(bytes, (err) => {
        if (err) {
          this.#drop(socket);
          reject(new DeliveryError(`write to ${this.#label()} failed: ${err.message}`, true, { cause: err }));
        } else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
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
        const greeting = this.#o.greeting?.();
        if (greeting) socket.write(greeting);
        resolve(socket);
      });
    }).finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #drop(socket: Socket): void {
    if (this.#socket === socket) this.#socket = undefined;
    socket.destroy();
  }

  #label(): string {
    const a = this.#o.address;
    return `${a.tls ? 'tls://' : ''}${a.host}:${a.port}`;
  }
}
