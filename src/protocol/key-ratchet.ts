import { ConfigError } from '../errors.ts';
import { advanceKey, deriveMasterKey, deriveSessionKey, HmacKey, hmacMatches, isHmacHex, signText } from './key-schedule.ts';

/**
 * The gateway's side of one session's key schedule: the current key plus an
 * optional look-ahead window for links that lose lines (docs/protocol.md, "Lossy links").
 * Keys only move forward, so a key that verified once is never accepted again.
 */
export class KeyRatchet {
  readonly #master: HmacKey;
  readonly #current: Buffer;
  readonly #window: number;

  /**
   * @param masterKey SHA-256 of the board's pre-shared key, as an HmacKey (made once per handler; each hello on its link reuses it).
   * @param keyMaterial the 32 bytes sent in answer to the hello.
   * @param window how many lost messages to look past (0 = strict, the default on TCP).
   */
  constructor(masterKey: HmacKey, keyMaterial: Buffer, window = 0) {
    if (!Number.isInteger(window) || window < 0 || window > 64) {
      throw new ConfigError('E_CONFIG_INVALID', `look-ahead window must be an integer from 0 to 64, got ${window}`);
    }
    this.#master = masterKey;
    this.#current = pooledCopy(deriveSessionKey(masterKey, keyMaterial));
    this.#window = window;
  }

  static fromPreSharedKey(preSharedKey: string, keyMaterial: Buffer, window = 0): KeyRatchet {
    return new KeyRatchet(new HmacKey(deriveMasterKey(preSharedKey)), keyMaterial, window);
  }

  /**
   * Verifies and, on success, advances past the key that verified.
   * @returns how many keys were skipped (0 = in sync), or -1 if no key in the window verifies.
   */
  verify(signedText: string, hmacHex: string): number {
    return isHmacHex(hmacHex) ? this.verifyBytes(signedText, Buffer.from(hmacHex, 'hex')) : -1;
  }

  /** {@link verify} for an HMAC whose shape the caller checked and decoded (parseSigned does), so no line is checked twice. */
  verifyBytes(signedText: string, given: Buffer): number {
    if (given.length !== 32) return -1;
    let key = this.#current;
    for (let skipped = 0; skipped <= this.#window; skipped++) {
      if (hmacMatches(key, signedText, given)) {
        advanceKey(this.#master, key).copy(this.#current);
        return skipped;
      }
      if (skipped < this.#window) key = advanceKey(this.#master, key);
    }
    return -1;
  }

  /** Signs with the current key and advances, as a board does after every message it sends. */
  sign(signedText: string): string {
    const hmac = signText(this.#current, signedText);
    advanceKey(this.#master, this.#current).copy(this.#current);
    return hmac;
  }
}

/**
 * `key` in 32 bytes of Node's shared buffer pool. A digest has an ArrayBuffer of its own (~0.3 KB
 * with its bookkeeping); a key every connected board keeps is cheaper as a slice of the pool.
 */
function pooledCopy(key: Buffer): Buffer {
  const pooled = Buffer.allocUnsafe(key.length);
  key.copy(pooled);
  return pooled;
}
