import { CodecError } from '../../errors.ts';
import type { GraphitePoint } from './plaintext.ts';

// Pickle protocol 2 opcodes (CPython Lib/pickle.py).
const PROTO = 0x80;
const EMPTY_LIST = 0x5d;
const MARK = 0x28;
const APPEND = 0x61;
const APPENDS = 0x65;
const BINPUT = 0x71;
const LONG_BINPUT = 0x72;
const BINUNICODE = 0x58;
const BININT = 0x4a;
const BININT1 = 0x4b;
const BININT2 = 0x4d;
const LONG1 = 0x8a;
const BINFLOAT = 0x47;
const TUPLE2 = 0x86;
const STOP = 0x2e;

/** carbon's pickle receiver refuses frames over 1 MiB (docs/graphite.md, "Pickle"). */
export const MAX_PICKLE_FRAME = 1 << 20;

/**
 * `pickle.dumps([(path, (timestamp, value)), …], protocol=2)` byte for byte as
 * CPython's C pickler writes it: memo PUTs after each list, string and tuple;
 * APPEND for a one-item list, else MARK…APPENDS per 1000 (batch_list_exact); ints as BININT1/BININT2/BININT/LONG1; other numbers
 * as BINFLOAT. Pure.
 */
export function encodePickle(points: readonly GraphitePoint[]): Buffer {
  const w = new ByteWriter();
  let memo = 0;
  const put = (): void => {
    if (memo < 256) w.bytes(BINPUT, memo);
    else w.byte(LONG_BINPUT).u32le(memo);
    memo++;
  };
  w.bytes(PROTO, 2, EMPTY_LIST);
  put();
  for (let start = 0; start < points.length; start += 1000) {
    const batch = points.slice(start, start + 1000);
    const single = points.length === 1;
    if (!single) w.byte(MARK);
    for (const [path, timestamp, value] of batch) {
      const utf8 = Buffer.from(path, 'utf8');
      w.byte(BINUNICODE).u32le(utf8.length).buf(utf8);
      put();
      writeNumber(w, timestamp);
      writeNumber(w, value);
      w.byte(TUPLE2);
      put();
      w.byte(TUPLE2);
      put();
    }
    w.byte(single ? APPEND : APPENDS);
  }
  w.byte(STOP);
  return w.done();
}

/** Graphite's pickle framing: `struct.pack("!L", len(payload)) + payload`. */
export function framePickle(payload: Buffer): Buffer {
  if (payload.length > MAX_PICKLE_FRAME) {
    throw new CodecError('E_FRAME_TOO_LARGE', `pickle frame of ${payload.length} bytes is over carbon's 1 MiB limit`);
  }
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

function writeNumber(w: ByteWriter, n: number): void {
  if (!Number.isFinite(n)) throw new CodecError('E_CODEC', `cannot pickle ${n} for graphite`);
  // Past 2^53 a double is no exact integer any more (1e20 may have been written as a
  // decimal): such values go as the float they are, not as a long of 100 digits.
  if (!Number.isSafeInteger(n)) {
    w.byte(BINFLOAT).f64be(n);
  } else if (n >= 0 && n < 256) {
    w.bytes(BININT1, n);
  } else if (n >= 0 && n < 65536) {
    w.byte(BININT2).u16le(n);
  } else if (n >= -0x80000000 && n <= 0x7fffffff) {
    w.byte(BININT).i32le(n);
  } else {
    const bytes = longBytes(BigInt(n));
    w.bytes(LONG1, bytes.length).buf(bytes);
  }
}

/** Two's complement little-endian, shortest, as pickle's encode_long. */
function longBytes(n: bigint): Buffer {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(out);
}

/** Appends bytes to growing chunks; one copy at the end. */
class ByteWriter {
  #chunks: Buffer[] = [];
  #cur = Buffer.alloc(4096);
  #pos = 0;

  #need(n: number): void {
    if (this.#pos + n <= this.#cur.length) return;
    this.#chunks.push(this.#cur.subarray(0, this.#pos));
    this.#cur = Buffer.alloc(Math.max(4096, n));
    this.#pos = 0;
  }
  byte(b: number): this {
    this.#need(1);
    this.#cur[this.#pos++] = b;
    return this;
  }
  bytes(...bs: number[]): this {
    for (const b of bs) this.byte(b);
    return this;
  }
  u16le(n: number): this {
    this.#need(2);
    this.#pos = this.#cur.writeUInt16LE(n, this.#pos);
    return this;
  }
  u32le(n: number): this {
    this.#need(4);
    this.#pos = this.#cur.writeUInt32LE(n, this.#pos);
    return this;
  }
  i32le(n: number): this {
    this.#need(4);
    this.#pos = this.#cur.writeInt32LE(n, this.#pos);
    return this;
  }
  f64be(n: number): this {
    this.#need(8);
    this.#pos = this.#cur.writeDoubleBE(n, this.#pos);
    return this;
  }
  buf(b: Buffer): this {
    this.#need(b.length);
    b.copy(this.#cur, this.#pos);
    this.#pos += b.length;
    return this;
  }
  done(): Buffer {
    return Buffer.concat([...this.#chunks, this.#cur.subarray(0, this.#pos)]);
  }
}
