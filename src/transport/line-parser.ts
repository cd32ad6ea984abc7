import { DelimiterParser } from '@serialport/parser-delimiter';
import type { TransformCallback } from 'node:stream';
import { ConfigError } from '../errors.ts';
import type { Frame } from '../link.ts';

export interface LineParserOptions {
  /** Longest line accepted, in bytes, without its `\n`. Default 1024; range 16..1 MiB. */
  maxLineLength?: number;
}

export const DEFAULT_MAX_LINE_LENGTH = 1024;

/**
 * Newline framing for both TCP and serial: serialport's DelimiterParser with a cap
 * on buffered bytes, which the original lacks (a device that never sends `\n` would
 * grow memory without bound). Emits {@link Frame} objects, one per line.
 */
export class LineParser extends DelimiterParser {
  readonly maxLineLength: number;
  /** True while dropping the rest of an over-long line up to its `\n`. */
  #skipping = false;

  constructor(options: LineParserOptions = {}) {
    super({ delimiter: '\n', readableObjectMode: true });
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 16 || max > 1 << 20) {
      throw new ConfigError('E_CONFIG_INVALID', `maxLineLength must be an integer from 16 to 1048576, got ${max}`);
    }
    this.maxLineLength = max;
  }

  // DelimiterParser pushes raw line Buffers; wrap each into a Frame here so the
  // parent's splitting logic stays the library's own.
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null);
    if (!Buffer.isBuffer(chunk)) return super.push(chunk, encoding);
    if (this.#skipping) {
      this.#skipping = false;
      return true; // the tail of a line already reported as overflow
    }
    if (chunk.length > this.maxLineLength) return super.push({ kind: 'overflow' } satisfies Frame);
    return super.push({ kind: 'line', bytes: chunk } satisfies Frame);
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    super._transform(chunk, encoding, (err?: Error | null) => {
      if (this.buffer.length > this.maxLineLength) {
        this.buffer = Buffer.alloc(0);
        if (!this.#skipping) {
          this.#skipping = true;
          super.push({ kind: 'overflow' } satisfies Frame);
        }
      }
      callback(err);
    });
  }

  override _flush(callback: TransformCallback): void {
    if (this.buffer.length > 0 && !this.#skipping) {
      super.push({ kind: 'truncated', length: this.buffer.length } satisfies Frame);
    }
    this.buffer = Buffer.alloc(0);
    callback();
  }
}
