import { createHash, timingSafeEqual } from 'node:crypto';
import { hmacSha256, type HmacKey } from './hmac-sha256.ts';

export { HmacKey } from './hmac-sha256.ts';

/** Rounds of HMAC applied to the hello key material (docs/protocol.md, "Keys"). */
export const HANDSHAKE_ROUNDS = 128;
/** Bytes of key material the gateway answers a hello with. */
export const KEY_MATERIAL_BYTES = 32;
/** An update's HMAC-SHA256: 64 lowercase hex characters. */
const HEX64 = /^[0-9a-f]{64}$/;

/** `M = SHA-256(pre_shared_key)`. */
export function deriveMasterKey(preSharedKey: string): Buffer {
  return createHash('sha256').update(preSharedKey, 'utf8').digest();
}

/** One ratchet step: `S' = HMAC-SHA256(key = M, message = S)`; `masterKey` is `new HmacKey(M)`. */
export function advanceKey(masterKey: HmacKey, key: Buffer): Buffer {
  return masterKey.sign(key);
}

/** `K128` from the 32 bytes of hello key material: the first session key. */
export function deriveSessionKey(masterKey: HmacKey, keyMaterial: Buffer, rounds = HANDSHAKE_ROUNDS): Buffer {
  return masterKey.chain(keyMaterial, rounds);
}

/** The lowercase hex HMAC a board appends to `signedText`. */
export function signText(sessionKey: Buffer, signedText: string): string {
  return hmacSha256(sessionKey, signedText).toString('hex');
}

/** Whether `hmacHex` has the exact shape of an rrduino HMAC (64 lowercase hex). */
export function isHmacHex(hmacHex: string): boolean {
  return HEX64.test(hmacHex);
}

/**
 * Constant-time check of `hmacHex` against the HMAC of `signedText` under
 * `sessionKey`. The shape check leaks only the length/alphabet, never key bytes.
 */
export function verifyHmac(sessionKey: Buffer, signedText: string, hmacHex: string): boolean {
  return isHmacHex(hmacHex) && hmacMatches(sessionKey, signedText, Buffer.from(hmacHex, 'hex'));
}

/** Constant-time check of the 32 bytes `given` (an HMAC already checked for shape and decoded) against the HMAC of `signedText`. */
export function hmacMatches(sessionKey: Buffer, signedText: string, given: Buffer): boolean {
  const expected = hmacSha256(sessionKey, signedText);
  return timingSafeEqual(expected, given);
}
