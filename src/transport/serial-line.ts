import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffOptions } from '../backoff.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { LinkConsumer, LinkPolicy, SessionLink } from '../link.ts';
import { LineParser } from './line-parser.ts';

/** The firmware's `Serial.begin(9600)`. */
export const DEFAULT_BAUD = 9600;

/** Keys to look past after lost lines, unless configured: lines do get lost on serial (docs/protocol.md, "Lossy links"). */
export const DEFAULT_SERIAL_LOOKAHEAD = 4;

/** Reopen backoff after a device vanished: 250 ms doubling to 10 s. */
export const DEFAULT_SERIAL_RETRY: BackoffOptions = { minMs: 250, maxMs: 10_000 };

/** One serial device and how to talk to it (`--serial`, or the config file's `serial`). */
export interface SerialSpec {
  path: string;
  /** Default {@link DEFAULT_BAUD}. */
  baudRate?: number;
  /** Keys to look past after lost lines. Default {@link DEFAULT_SERIAL_LOOKAHEAD}. */
  lookahead?: number;
}

/** An open serial port as the line needs it; `SerialPort` in production. */
export interface OpenPort extends Duplex {
  close(callback?: (err?: Error | null) => void): void;
  readonly isOpen: boolean;
}

export type PortOpener = (path: string, baudRate: number) => Promise<OpenPort>;

/** Opens a real serial device (or pty) with serialport, loaded on first use (it is a few MB). */
export const openSerialPort: PortOpener = async (path, baudRate) => {
  const { SerialPort } = await import('serialport');
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
};

export interface SerialLineOptions extends SerialSpec {
  maxLineLength: number;
  logger: Logger;
  /** Reopen backoff. Default {@link DEFAULT_SERIAL_RETRY}. */
  retry?: BackoffOptions;
  open?: PortOpener;
}

/**
 * One serial device carrying one board at a time. Turns the port into frames for a
 * session; when the device vanishes (unplugged, socat gone) it logs that and
 * reopens it with backoff, starting a fresh session (the board resets on open).
 */
export class SerialLine {
  readonly path: string;
  readonly baudRate: number;
  readonly #o: SerialLineOptions;
  readonly #startSession: (link: SessionLink) => LinkConsumer;
  readonly #logger: Logger;
  readonly #policy: LinkPolicy;
  #port: OpenPort | undefined;
  #stopped = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #sessionClosed: Promise<void> = Promise.resolve();
  /** Why the last open failed, as logged: a warning is written when this changes, not per retry. */
  #failure: string | undefined;
  #failedAttempts = 0;

  constructor(options: SerialLineOptions, startSession: (link: SessionLink) => LinkConsumer) {
    this.#o = options;
    this.path = options.path;
    this.baudRate = options.baudRate ?? DEFAULT_BAUD;
    this.#startSession = startSession;
    this.#logger = options.logger.child({ transport: 'serial', remote: options.path });
    // A serial line cannot hang up and is never "connected": noise is skipped, lost lines looked past.
    this.#policy = { canHangUp: false, helloTimeoutMs: undefined, unverifiedLinesAreNoise: true, lookaheadWindow: options.lookahead ?? DEFAULT_SERIAL_LOOKAHEAD };
  }

  get isOpen(): boolean {
    return this.#port?.isOpen ?? false;
  }

  /** Opens the port now, or keeps trying with backoff until it can. */
  start(): void {
    void this.#open();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const port = this.#port;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    await this.#sessionClosed;
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    let port: OpenPort;
    try {
      port = await (this.#o.open ?? openSerialPort)(this.path, this.baudRate);
    } catch (err) {
      const why = openFailure(err);
      this.#failedAttempts++;
      if (why.reason !== this.#failure) {
        this.#failure = why.reason;
        this.#logger.warn({ code: 'E_SERIAL_OPEN', reason: why.reason, err: errorMessage(err) }, `cannot open serial port ${this.path}: ${why.reason}. ${why.fix}. Retrying with backoff; this is logged again only if the reason changes`);
      } else {
        this.#logger.debug({ err: errorMessage(err) }, 'cannot open serial port; will retry');
      }
      this.#scheduleReopen();
      return;
    }
    if (this.#stopped) {
      port.close();
      return;
    }
    this.#attempt = 0;
    this.#port = port;
    this.#logger.info({ baudRate: this.baudRate, ...(this.#failure ? { afterFailedAttempts: this.#failedAttempts } : {}) }, 'serial port open');
    this.#failure = undefined;
    this.#failedAttempts = 0;
    const link: SessionLink = {
      policy: this.#policy,
      transport: 'serial',
      remote: this.path,
      write: (bytes) => {
        if (port.isOpen) port.write(bytes);
      },
      hangUp: () => undefined, // never called: the policy says it cannot
      pause: () => port.pause(),
      resume: () => port.resume(),
    };
    const session = this.#startSession(link);
    const parser = new LineParser({ maxLineLength: this.#o.maxLineLength }, (frame) => session.onFrame(frame));
    port.on('data', (chunk: Buffer) => parser.write(chunk));
    port.on('error', (err: Error) => this.#logger.warn({ err: err.message }, 'serial port error'));
    port.once('close', (err?: Error & { disconnected?: boolean }) => {
      parser.end();
      this.#sessionClosed = session.onLinkClosed();
      if (this.#stopped) return;
      this.#logger.warn({ disconnected: err?.disconnected ?? false }, 'serial port closed (device gone?); reopening with backoff');
      this.#scheduleReopen();
    });
  }

  #scheduleReopen(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#open(), backoffDelay(this.#attempt++, this.#o.retry ?? DEFAULT_SERIAL_RETRY));
  }
}

/** Why a serial port did not open, and what the operator can do about it. Pure. */
export function openFailure(err: unknown): { reason: string; fix: string } {
  const code = (err as { code?: unknown } | undefined)?.code;
  const text = `${typeof code === 'string' ? code : ''} ${errorMessage(err)}`;
  if (/ENOENT|No such file/i.test(text)) {
    return { reason: 'no such device', fix: 'Check the path: is the board plugged in? `node dist/server.js ports` lists the serial ports, `dmesg | tail` shows what the kernel saw' };
  }
  if (/EACCES|Permission denied/i.test(text)) {
    return { reason: 'permission denied', fix: "Add the gateway's user to the dialout group (`sudo usermod -aG dialout <user>`, then log in again; the systemd unit has SupplementaryGroups=dialout)" };
  }
  if (/lock|EBUSY|busy/i.test(text)) {
    return { reason: 'in use by another program', fix: 'Close the serial monitor or other program that has it open (`fuser -v <path>` names it)' };
  }
  return { reason: errorMessage(err).slice(0, 200), fix: 'Check the device and its driver (`dmesg | tail`)' };
}

/** `/dev/ttyUSB0` or `/dev/ttyUSB0:115200` → path and baud. */
export function parseSerialSpec(spec: string): { path: string; baudRate: number } {
  const m = /^(.+?)(?::(\d+))?$/.exec(spec);
  const path = m?.[1] ?? '';
  const baudRate = m?.[2] ? Number(m[2]) : DEFAULT_BAUD;
  if (!path.startsWith('/') || !Number.isInteger(baudRate) || baudRate < 50 || baudRate > 4_000_000) {
    throw new ConfigError('E_CONFIG_INVALID', `serial port '${spec}' must be an absolute device path, optionally with :baud (50..4000000)`);
  }
  return { path, baudRate };
}
