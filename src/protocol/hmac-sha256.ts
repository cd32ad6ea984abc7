import { hash } from 'node:crypto';

/** SHA-256's block: HMAC's key pads are one block each (RFC 2104). */
const BLOCK = 64;
const IPAD = 0x36;
const OPAD = 0x5c;

/** The pad block, then the message; grown for a longer message. One HMAC at a time: nothing here awaits. */
let scratch = Buffer.allocUnsafeSlow(BLOCK + 256);

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
  const { length } = message; // a string's in latin1 bytes, one a character
  if (scratch.length < BLOCK + Math.max(length, 32)) scratch = Buffer.allocUnsafeSlow(BLOCK + Math.max(length, 32) * 2);
  padInto(k, IPAD);
  // latin1: the protocol's lines are printable ASCII, and the keys' messages are bytes.
  if (typeof message === 'string') scratch.write(message, BLOCK, 'latin1');
  else message.copy(scratch, BLOCK);
  const inner = hash('sha256', scratch.subarray(0, BLOCK + length), 'buffer');
  padInto(k, OPAD);
  inner.copy(scratch, BLOCK);
  return hash('sha256', scratch.subarray(0, BLOCK + inner.length), 'buffer');
}

/**
 * `rounds` times `m = HMAC-SHA256(key, m)` from `start`: the hello's key derivation. The key's two
 * pad blocks are made once and stay in place before each message, so a round is two hashes and
 * two 32-byte copies; ~20 % less than {@link hmacSha256} per round (BENCHMARKS.md, the storm).
 */
export function hmacChain(key: Buffer, start: Buffer, rounds: number): Buffer {
  // After the first round every message is a 32-byte digest; the start may be any length.
  if (start.length !== 32 && rounds > 0) return hmacChain(key, hmacSha256(key, start), rounds - 1);
  if (rounds === 0) return start;
  const k = key.length > BLOCK ? hash('sha256', key, 'buffer') : key;
  const inner = Buffer.allocUnsafe(BLOCK + 32);
  const outer = Buffer.allocUnsafe(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    const byte = i < k.length ? (k[i] as number) : 0;
    inner[i] = byte ^ IPAD;
    outer[i] = byte ^ OPAD;
  }
  start.copy(inner, BLOCK);
  for (let i = 0; i < rounds; i++) {
    hash('sha256', inner, 'buffer').copy(outer, BLOCK);
    hash('sha256', outer, 'buffer').copy(inner, BLOCK);
  }
  return inner.subarray(BLOCK);
}

function padInto(key: Buffer, pad: number): void {
  for (let i = 0; i < BLOCK; i++) scratch[i] = (i < key.length ? (key[i] as number) : 0) ^ pad;
}
