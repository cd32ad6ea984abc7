import { ConfigError } from '../errors.ts';
import type { Frame } from '../link.ts';

export interface LineParserOptions {
  /** Longest line accepted, in bytes, without its `\n`. Default 1024; range 16..1 MiB. */
  maxLineLength?: number;
}

export const DEFAULT_MAX_LINE_LENGTH = 1024;

const NL = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Newline framing for TCP and serial, one per connection: each `\n`-ended line becomes a
 * {@link Frame}, a line over the limit is reported once and dropped up to its `\n` (a device
 * that never sends one cannot grow memory), and bytes left at the end are reported as
 * truncated.
 *
 * Not a stream, and not serialport's DelimiterParser (used here before): with 10,000 boards
 * connected, a Transform per connection cost ~1 KB of state, and the library kept a slice of
 * the last chunk it concatenated, which pins the whole 8 KiB pool slab that chunk came from.
 * Here a line that is not yet complete is kept as an exact-size copy, and nothing at all is
 * kept between complete lines.
 */
export class LineParser {
  readonly maxLineLength: number;
  readonly #onFrame: (frame: Frame) => void;
  /** The start of a line whose `\n` has not come yet (a copy of its own). */
  #partial: Buffer = EMPTY;
  /** True while dropping the rest of an over-long line up to its `\n`. */
  #skipping = false;

  constructor(options: LineParserOptions, onFrame: (frame: Frame) => void) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 16 || max > 1 << 20) {
      throw new ConfigError('E_CONFIG_INVALID', `maxLineLength must be an integer from 16 to 1048576, got ${max}`);
    }
    this.maxLineLength = max;
    this.#onFrame = onFrame;
  }

  /** Bytes held of a line not yet ended (never more than the limit). */
  get buffered(): number {
    return this.#partial.length;
  }

  /** Bytes as they arrived; frames go out synchronously, in order. */
  write(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(NL); nl >= 0; nl = chunk.indexOf(NL, from)) {
      this.#lineEnds(chunk.subarray(from, nl));
      from = nl + 1;
    }
    if (from < chunk.length) this.#keep(chunk.subarray(from));
  }

  /** The link ended: a line without its `\n` is reported as truncated, not as a message. */
  end(): void {
    if (this.#partial.length > 0 && !this.#skipping) this.#onFrame({ kind: 'truncated', length: this.#partial.length });
    this.#partial = EMPTY;
    this.#skipping = false;
  }

  #lineEnds(tail: Buffer): void {
    if (this.#skipping) {
      this.#skipping = false; // the tail of a line already reported as overflow
      return;
    }
    const bytes = this.#partial.length === 0 ? tail : Buffer.concat([this.#partial, tail]);
    this.#partial = EMPTY;
    this.#onFrame(bytes.length > this.maxLineLength ? { kind: 'overflow' } : { kind: 'line', bytes });
  }

  #keep(rest: Buffer): void {
    if (this.#skipping) return;
    const length = this.#partial.length + rest.length;
    if (length > this.maxLineLength) {
      this.#partial = EMPTY;
      this.#skipping = true;
      this.#onFrame({ kind: 'overflow' });
      return;
    }
    const copy = Buffer.allocUnsafeSlow(length); // unpooled: it may be held for hours
    this.#partial.copy(copy);
    rest.copy(copy, this.#partial.length);
    this.#partial = copy;
  }
}
