import { hash } from 'node:crypto';

/** SHA-256's block: HMAC's key pads are one block each (RFC 2104). */
const BLOCK = 64;
const DIGEST = 32;
const IPAD = 0x36;
const OPAD = 0x5c;

/** The pad block, then the message; grown for a longer message. One HMAC at a time: nothing here awaits. */
let scratch = Buffer.allocUnsafeSlow(BLOCK + 256);
/** A pad block, then a digest: the message of every ratchet step and derivation round, hashed whole. */
const digestBlock = Buffer.allocUnsafeSlow(BLOCK + DIGEST);

/**
 * HMAC-SHA256 (RFC 2104) from two of Node's one-shot `crypto.hash` calls.
 *
 * Why not `createHmac`: each one is a native object the garbage collector must finalise, and a
 * gateway makes two per update. At 10k updates/s that finalising was ~1.5 ms of every young
 * collection's pause, the pause the p99 latency waits on; the one-shot hash makes no such object
 * and costs the same to compute. test/protocol/hmac-sha256.test.ts checks it against `createHmac`.
 */
export function hmacSha256(key: Buffer, message: Buffer | string): Buffer {
  const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
  const padded = afterBlock(message);
  padInto(padded, k, IPAD);
  const inner = hash('sha256', padded, 'buffer');
  padInto(digestBlock, k, OPAD);
  inner.copy(digestBlock, BLOCK);
  return hash('sha256', digestBlock, 'buffer');
}

/**
 * `message` written into the scratch after its first block (grown for a long one), and the
 * scratch up to the message's end: the caller puts a pad block in front and hashes it.
 */
function afterBlock(message: Buffer | string): Buffer {
  const { length } = message; // a string's in latin1 bytes, one a character
  if (scratch.length < BLOCK + length) scratch = Buffer.allocUnsafeSlow(BLOCK + length * 2);
  // latin1: the protocol's lines are printable ASCII, and the keys' messages are bytes.
  if (typeof message === 'string') scratch.write(message, BLOCK, 'latin1');
  else message.copy(scratch, BLOCK);
  return scratch.subarray(0, BLOCK + length);
}

/**
 * A key that signs many messages: the board's master key, which keys every ratchet step and all
 * 128 rounds of a hello's derivation. Its two pad blocks are made once, so a step is two whole-
 * buffer copies and two hashes, with no pad loop and no view made per hash.
 */
export class HmacKey {
  /** K ⊕ ipad and K ⊕ opad, one block each, in Node's buffer pool (every connected board keeps one). */
  readonly #inner: Buffer;
  readonly #outer: Buffer;

  constructor(key: Buffer) {
    const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
    this.#inner = Buffer.allocUnsafe(BLOCK);
    this.#outer = Buffer.allocUnsafe(BLOCK);
    padInto(this.#inner, k, IPAD);
    padInto(this.#outer, k, OPAD);
  }

  /** HMAC-SHA256 of `message` under this key. */
  sign(message: Buffer | string): Buffer {
    if (typeof message === 'string' || message.length !== DIGEST) {
      const padded = afterBlock(message);
      this.#inner.copy(padded);
      return this.#outerHash(hash('sha256', padded, 'buffer'));
    }
    this.#inner.copy(digestBlock);
    message.copy(digestBlock, BLOCK);
    return this.#outerHash(hash('sha256', digestBlock, 'buffer'));
  }

  /**
   * `rounds` times `m = HMAC-SHA256(key, m)` from `start`: the hello's key derivation. Both pad
   * blocks stay in place before each message, so a round is two hashes and two 32-byte copies;
   * ~20 % less than {@link hmacSha256} per round (BENCHMARKS.md, the storm).
   */
  chain(start: Buffer, rounds: number): Buffer {
    // After the first round every message is a 32-byte digest; the start may be any length.
    if (start.length !== DIGEST && rounds > 0) return this.chain(this.sign(start), rounds - 1);
    if (rounds === 0) return start;
    const inner = Buffer.allocUnsafe(BLOCK + DIGEST);
    const outer = Buffer.allocUnsafe(BLOCK + DIGEST);
    this.#inner.copy(inner);
    this.#outer.copy(outer);
    start.copy(inner, BLOCK);
    for (let i = 0; i < rounds; i++) {
      hash('sha256', inner, 'buffer').copy(outer, BLOCK);
      hash('sha256', outer, 'buffer').copy(inner, BLOCK);
    }
    return inner.subarray(BLOCK);
  }

  #outerHash(inner: Buffer): Buffer {
    this.#outer.copy(digestBlock);
    inner.copy(digestBlock, BLOCK);
    return hash('sha256', digestBlock, 'buffer');
  }
}

/** The first block of `into`: `key` zero-padded to a block, XORed with `pad`. */
function padInto(into: Buffer, key: Buffer, pad: number): void {
  into.fill(pad, 0, BLOCK);
  for (let i = 0; i < key.length; i++) into[i] = (into[i] as number) ^ (key[i] as number);
}
