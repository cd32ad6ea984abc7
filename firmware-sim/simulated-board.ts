import { EventEmitter } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { KEY_MATERIAL_BYTES } from '../src/protocol/key-schedule.ts';
import { BoardProtocol, type BoardValue } from './board-protocol.ts';
import { Thermistor } from './thermistor.ts';

export interface SimulatedBoardOptions {
  clientId: string;
  /** The pre-shared key (config.h CLIENT_KEY). */
  key: string;
  /** Opens the board's link: a TCP socket or a serial port as a Duplex. */
  connect: () => Duplex | Promise<Duplex>;
  /** Time between updates, ms. 0 = send only when {@link SimulatedBoard.send} is called. Default 60 000. */
  intervalMs?: number;
  /** Wait after a disconnect before reconnecting, ms. Default 5 000, as the firmware does. */
  reconnectDelayMs?: number;
  /** Give up waiting for key material after this long, ms. Default 10 000. */
  helloTimeoutMs?: number;
  /** What to send each interval. Default: one thermistor temperature. */
  readings?: (timeMs: number) => Record<string, BoardValue>;
  /** Line ending. Default `\r\n`, what the firmware (firmware/) sends on every transport. */
  lineEnding?: '\n' | '\r\n';
  /**
   * Time between the key material arriving and the first update, ms: the 128 HMAC rounds
   * take about 6 000 on a real ATmega328P. Default 0.
   */
  deriveDelayMs?: number;
  /**
   * Write a bare newline before each hello, as firmware before 2026-12 did on serial (it ends a
   * half line the gateway may hold from before a reset; the original server hangs up on it).
   * Default false.
   */
  newlineBeforeHello?: boolean;
}

/**
 * Ends a link. A serial port must be close()d: destroy() emits 'close' at once but
 * leaves the device locked, so the next open fails with "Cannot lock port".
 */
function endLink(link: Duplex): void {
  const port = link as Duplex & { isOpen?: boolean; close?: (cb?: () => void) => void };
  if (typeof port.close === 'function' && port.isOpen) port.close(() => link.destroy());
  else link.destroy();
}

/** Opens a TCP link to a gateway. */
export function tcpLink(host: string, port: number): () => Promise<Duplex> {
  return () =>
    new Promise((resolve, reject) => {
      const socket = tcpConnect({ host, port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
}

/**
 * A board that behaves like the rrduino firmware: connect, hello, derive the key,
 * send an update every interval, reconnect 5 s after a disconnect.
 * Events: `ready` (session key derived), `sent` (line), `disconnected`, `error`.
 */
export class SimulatedBoard extends EventEmitter {
  readonly options: Required<Omit<SimulatedBoardOptions, 'readings'>> & Pick<SimulatedBoardOptions, 'readings'>;
  readonly #thermistor = new Thermistor();
  #protocol: BoardProtocol;
  #link: Duplex | undefined;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Not unref'd: a board with no gateway keeps trying, and keeps its process alive. */
  #reconnectTimer: NodeJS.Timeout | undefined;
  #deriveTimer: NodeJS.Timeout | undefined;

  constructor(options: SimulatedBoardOptions) {
    super();
    this.options = {
      intervalMs: 60_000,
      reconnectDelayMs: 5_000,
      helloTimeoutMs: 10_000,
      lineEnding: '\r\n',
      deriveDelayMs: 0,
      newlineBeforeHello: false,
      ...options,
    };
    this.#protocol = new BoardProtocol(options.clientId, options.key);
  }

  get connected(): boolean {
    return this.#link !== undefined && this.#protocol.ready;
  }

  /** Starts the connect → hello → update loop. */
  start(): this {
    if (!this.#stopped) return this;
    this.#stopped = false;
    this.#loop = this.#run();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#deriveTimer);
    if (this.#link) endLink(this.#link);
    this.#wake?.();
    await this.#loop;
  }

  /** Resolves at the next `ready`. */
  waitReady(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.once('ready', () => resolve()));
  }

  /** Sends one signed update now; returns the line, or undefined if not connected. */
  send(values?: Record<string, BoardValue>): string | undefined {
    const link = this.#link;
    if (!link || !this.#protocol.ready) return undefined;
    const line = this.#protocol.updateLine(values ?? this.#defaultReadings());
    this.writeRaw(line);
    this.emit('sent', line);
    return line;
  }

  /** Writes raw bytes to the link (tests use it for noise); `\n` is replaced by the line ending. */
  writeRaw(text: string | Buffer): void {
    const bytes = typeof text === 'string' ? Buffer.from(text.replace(/\n$/, this.options.lineEnding), 'latin1') : text;
    this.#link?.write(bytes);
  }

  /** The board's protocol state, for tests that sign by hand. */
  get protocol(): BoardProtocol {
    return this.#protocol;
  }

  #defaultReadings(): Record<string, BoardValue> {
    return this.options.readings?.(Date.now()) ?? { temperature: this.#thermistor.read(Date.now()) };
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const link = await this.options.connect();
        await this.#session(link);
      } catch (err) {
        // Like the firmware, a failed connect only means trying again later; 'error'
        // is news for whoever listens, never a reason to stop the loop.
        if (!this.#stopped && this.listenerCount('error') > 0) this.emit('error', err);
      }
      this.#link = undefined;
      clearInterval(this.#timer);
      if (this.#stopped) break;
      this.emit('disconnected');
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#reconnectTimer = setTimeout(resolve, this.options.reconnectDelayMs);
      });
    }
  }

  #session(link: Duplex): Promise<void> {
    this.#protocol = new BoardProtocol(this.options.clientId, this.options.key);
    this.#link = link;
    return new Promise<void>((resolve, reject) => {
      let material = Buffer.alloc(0);
      let deriving = false;
      const helloTimer = setTimeout(() => {
        endLink(link);
        reject(new Error('no key material from the gateway'));
      }, this.options.helloTimeoutMs);
      link.on('data', (chunk: Buffer) => {
        if (deriving || this.#protocol.ready) return; // the gateway sends nothing after the key material
        material = Buffer.concat([material, chunk]);
        if (material.length < KEY_MATERIAL_BYTES) return;
        clearTimeout(helloTimer);
        deriving = true;
        const derived = (): void => {
          if (this.#link !== link) return; // the link closed while the board was deriving
          this.#protocol.acceptKeyMaterial(material.subarray(0, KEY_MATERIAL_BYTES));
          this.emit('ready');
          if (this.options.intervalMs > 0) {
            this.send();
            this.#timer = setInterval(() => this.send(), this.options.intervalMs);
          }
        };
        if (this.options.deriveDelayMs > 0) this.#deriveTimer = setTimeout(derived, this.options.deriveDelayMs);
        else derived();
      });
      link.on('error', () => undefined); // 'close' follows
      link.on('close', () => {
        clearTimeout(helloTimer);
        clearTimeout(this.#deriveTimer);
        this.#link = undefined;
        resolve();
      });
      if (this.options.newlineBeforeHello) link.write('\n');
      this.writeRaw(this.#protocol.helloLine());
    });
  }
}
