import type { Logger } from 'pino';
import { ConfigError, ProtocolError } from '../errors.ts';
import { KeyRatchet } from '../protocol/key-ratchet.ts';
import { deriveMasterKey, HmacKey } from '../protocol/key-schedule.ts';
import { parseSigned, type RawMessage, type SignedMessage } from '../protocol/message.ts';
import type { Reading } from '../reading.ts';
import type { RrdStore } from '../rrd/rrd-store.ts';
import type { HandlerDescription } from './handler-description.ts';

/** What a handler may use; handed in so tests can pass their own. */
export interface HandlerContext {
  readonly clientId: string;
  /** Child logger already carrying `clientId`. Never log keys. */
  readonly logger: Logger;
  /** The board's rrd files (in a session worker, through the primary process). */
  readonly rrd: RrdStore;
  /** Relative rrd paths in profiles resolve under this directory. */
  readonly dataDir: string;
  /** The profile file this handler was built from, for error messages. */
  readonly profileFile: string;
  /** Hands a reading to every configured destination. */
  publish(reading: Reading): void;
  /** Bumps a gateway counter. */
  count(stat: string): void;
  /**
   * Whether an error line about `subject` (an rrd file, a profile) with `code` may be
   * logged now: a few per minute, then a summary. Errors that repeat with every update
   * must not fill the disk with log lines.
   */
  mayLog(subject: string, code: string): boolean;
  /** Unix milliseconds; a clock tests can control. */
  now(): number;
}

/** What a handler gets from a profile. */
export interface HandlerInit {
  readonly context: HandlerContext;
  /** The board's pre-shared key (profile `key`). */
  readonly preSharedKey: string;
  /** The profile's `handler_options`, already checked by the class's `validateOptions`. */
  readonly options: unknown;
}

/** A message function: gets a verified {@link SignedMessage} when the type requires an HMAC. */
export type MessageFn = (message: SignedMessage & RawMessage) => void | Promise<void>;
export type UnsignedMessageFn = (message: RawMessage) => void | Promise<void>;

/**
 * Outcome of one line, for the session: did a key verify, what work is still running,
 * and what was wrong with a message that verified (its content is the board's fault,
 * not line noise).
 */
export interface HandleResult {
  readonly verified: boolean;
  readonly done: Promise<void> | undefined;
  readonly error?: unknown;
}

interface MessageType {
  readonly type: string;
  readonly fn: (message: RawMessage) => void | Promise<void>;
  readonly requiresHmac: boolean;
}

/**
 * The hello, message-type registration and HMAC checking for one board session.
 * Subclasses register their message types in the constructor.
 */
export class BaseHandler {
  readonly clientId: string;
  protected readonly context: HandlerContext;
  readonly #masterKey: HmacKey;
  /** A handler has one to three types: a short list costs a fraction of a Map, kept by every connected board. */
  readonly #types: MessageType[] = [];
  #ratchet: KeyRatchet | undefined;

  /**
   * Checks a profile's `handler_options` for this class; throws ProfileError (or any
   * Error, which the loader wraps) naming the field. Subclasses call `super`'s first
   * when they extend its options.
   */
  static validateOptions(_options: unknown): void {
    // BaseHandler needs no options.
  }

  /**
   * What this handler stores for a board with these `handler_options` (already checked by
   * {@link validateOptions}); `dataDir` resolves relative paths. A handler that writes an rrd
   * file describes it here, and gets the silence warning, the graphs, its row in `list` and
   * `check`'s rrdtool check for it. BaseHandler stores nothing.
   */
  static describe(_options: unknown, _dataDir: string): HandlerDescription {
    return {};
  }

  constructor(init: HandlerInit) {
    this.context = init.context;
    this.clientId = init.context.clientId;
    this.#masterKey = new HmacKey(deriveMasterKey(init.preSharedKey));
  }

  /**
   * Adds a message type. `requiresHmac` types are verified against the session key
   * (and advance it) before `fn` runs; others run as they come once a hello has started
   * the session, before any key has verified.
   */
  protected registerMessageType(type: string, fn: MessageFn, requiresHmac: true): void;
  protected registerMessageType(type: string, fn: UnsignedMessageFn, requiresHmac: false): void;
  protected registerMessageType(type: string, fn: MessageFn | UnsignedMessageFn, requiresHmac: boolean): void {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,15}$/.test(type) || type === 'h') {
      throw new ConfigError('E_BAD_HANDLER', `message type '${type}' is reserved or not a short name (a letter, then up to 15 letters, digits or _)`);
    }
    const entry = { type, fn: fn as (m: RawMessage) => void | Promise<void>, requiresHmac };
    const at = this.#types.findIndex((t) => t.type === type);
    if (at >= 0) this.#types[at] = entry;
    else this.#types.push(entry);
  }

  /**
   * Starts a session from the key material the gateway sent in answer to `h`.
   * @param lookaheadWindow keys to look past for lost lines (the link's policy; 0 on TCP).
   */
  hello(keyMaterial: Buffer, lookaheadWindow = 0): void {
    this.#ratchet = new KeyRatchet(this.#masterKey, keyMaterial, lookaheadWindow);
  }

  /**
   * Verifies (when the type requires it) and dispatches one message. Throws ProtocolError
   * for a line that did not verify; an error of a verified message's handler comes back
   * in the result.
   */
  handle(raw: RawMessage): HandleResult {
    const type = this.#types.find((t) => t.type === raw.type);
    if (type === undefined) throw new ProtocolError('E_UNKNOWN_TYPE', `unknown message type '${raw.type.slice(0, 16)}'`);
    if (!type.requiresHmac) return { verified: false, done: promiseOf(type.fn(raw)) };
    if (this.#ratchet === undefined) throw new ProtocolError('E_NO_SESSION', `'${raw.type}' before hello`);
    const signed = parseSigned(raw);
    const skipped = this.#ratchet.verifyBytes(signed.signedText, Buffer.from(signed.hmac, 'hex')); // parseSigned checked its shape
    if (skipped < 0) throw new ProtocolError('E_BAD_HMAC', 'HMAC does not verify (wrong key, replay or lost sync)');
    if (skipped > 0) {
      this.context.count('resyncs');
      this.context.logger.warn({ skipped }, 'resynchronised after lost messages');
    }
    try {
      return { verified: true, done: promiseOf(type.fn(signed)) };
    } catch (error) {
      return { verified: true, done: undefined, error };
    }
  }
}

function promiseOf(result: void | Promise<void>): Promise<void> | undefined {
  return result instanceof Promise ? result : undefined;
}
