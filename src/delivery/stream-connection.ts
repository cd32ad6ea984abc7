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
   * What was written in the last this-many ms is written again after a reconnect.
   * Carbon and DalmatinerDB acknowledge nothing, so bytes the kernel took may still die
   * with the peer (or behind a relay or proxy); both store by timestamp, so a repeat
   * overwrites the same slot. 0 turns it off. Default 0.
   */
  resendWindowMs?: number;
  /** Bytes kept for re-sending at most. Default 8 MiB. */
  resendMaxBytes?: number;
  /** Called with the number of points written again after a reconnect. */
  onResend?: (points: number) => void;
  now?: () => number;
}

interface Written {
  at: number;
  bytes: Buffer;
  points: number;
}

/**
 * One long-lived TCP or TLS connection to a destination, (re)opened on the next
 * write after it broke. A write resolves once the bytes are handed to the kernel.
 * A peer that closes its side (FIN) is taken as gone at once, so nothing more is
 * written into a socket nobody reads; after such a break the recent writes are
 * sent again (`resendWindowMs`).
 */
export class StreamConnection {
  readonly #o: StreamConnectionOptions;
  readonly #ca: Buffer | undefined;
  readonly #now: () => number;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  /** Recent writes, oldest first, for re-sending after a break. */
  #recent: Written[] = [];
  #recentBytes = 0;
  #everConnected = false;
  /** When the last connection was seen to break: the resend window ends there. */
  #brokeAt: number | undefined;

  constructor(options: StreamConnectionOptions) {
    this.#o = options;
    if (options.caFile) this.#ca = readCaFile(options.caFile);
    this.#now = options.now ?? Date.now;
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** Writes self-contained messages carrying `points` points; rejects with a retryable DeliveryError. */
  async write(bytes: Buffer | string, points = 0): Promise<void> {
    const socket = this.#socket ?? (await this.#connect());
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    await this.#writeTo(socket, buf);
    this.#remember(buf, points);
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
        if (this.#o.greeting) socket.write(this.#o.greeting);
        if (this.#everConnected) this.#resend(socket);
        this.#everConnected = true;
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

  #remember(bytes: Buffer, points: number): void {
    const window = this.#o.resendWindowMs ?? 0;
    if (window <= 0) return;
    const now = this.#now();
    this.#recent.push({ at: now, bytes, points });
    this.#recentBytes += bytes.length;
    const max = this.#o.resendMaxBytes ?? 8 * 1024 * 1024;
    let drop = 0;
    while (drop < this.#recent.length) {
      const w = this.#recent[drop] as Written;
      if (w.at >= now - window && this.#recentBytes <= max) break;
      this.#recentBytes -= w.bytes.length;
      drop++;
    }
    if (drop > 0) this.#recent.splice(0, drop);
  }

  /**
   * After a break, writes the recent window again. Entries get the new time: until a
   * connection has lived a whole window, a flapping peer (a proxy whose upstream is down)
   * gets them again on every reconnect.
   */
  #resend(socket: Socket): void {
    const window = this.#o.resendWindowMs ?? 0;
    const now = this.#now();
    const end = this.#brokeAt ?? now;
    this.#brokeAt = undefined;
    const fresh = this.#recent.filter((w) => w.at >= end - window);
    if (fresh.length === 0) return;
    let points = 0;
    for (const w of fresh) {
      w.at = now;
      points += w.points;
    }
    this.#recent = fresh;
    this.#recentBytes = fresh.reduce((n, w) => n + w.bytes.length, 0);
    socket.write(Buffer.concat(fresh.map((w) => w.bytes)));
    this.#o.onResend?.(points);
  }

  #drop(socket: Socket): void {
    if (this.#socket === socket) {
      this.#socket = undefined;
      this.#brokeAt = this.#now();
    }
    socket.destroy();
  }

  #label(): string {
    const a = this.#o.address;
    return `${a.tls ? 'tls://' : ''}${a.host}:${a.port}`;
  }
}
