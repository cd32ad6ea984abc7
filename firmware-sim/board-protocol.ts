import { KeyRatchet } from '../src/protocol/key-ratchet.ts';
import { KEY_MATERIAL_BYTES } from '../src/protocol/key-schedule.ts';
import { formatSignedLine } from '../src/protocol/message.ts';
import { arduinoPrintFloat } from './arduino-float.ts';

/** A value as the firmware sends it: a float printed with two decimals, an integer, or U. */
export type BoardValue = number | 'U' | { int: number };

/** Formats one value as the firmware's `print` does. */
export function formatBoardValue(value: BoardValue): string {
  if (value === 'U') return 'U';
  if (typeof value === 'object') return String(Math.trunc(value.int));
  return arduinoPrintFloat(value, 2);
}

/**
 * The board's side of the protocol with no I/O: the hello line, and signed update
 * lines once the key material is in. Signs with src/protocol, so the known-answer
 * tests cover both sides.
 */
export class BoardProtocol {
  readonly clientId: string;
  readonly #key: string;
  #ratchet: KeyRatchet | undefined;

  constructor(clientId: string, preSharedKey: string) {
    this.clientId = clientId;
    this.#key = preSharedKey;
  }

  helloLine(): string {
    return `h ${this.clientId}\n`;
  }

  /** Derives the session key (128 HMAC rounds, ~6 s on a real ATmega328P). */
  acceptKeyMaterial(material: Buffer): void {
    if (material.length !== KEY_MATERIAL_BYTES) throw new Error(`key material must be ${KEY_MATERIAL_BYTES} bytes`);
    this.#ratchet = KeyRatchet.fromPreSharedKey(this.#key, material);
  }

  get ready(): boolean {
    return this.#ratchet !== undefined;
  }

  /** A signed `u` line; the key advances whether or not the gateway accepts it (docs/protocol.md, "Keys"). */
  updateLine(values: Readonly<Record<string, BoardValue>>): string {
    const body = Object.entries(values).map(([k, v]) => `${k} ${formatBoardValue(v)}`).join(' ');
    return this.signedLine(`u ${body}`);
  }

  /** Signs any text (custom message types, and tests that need bad-but-signed lines). */
  signedLine(signedText: string): string {
    if (!this.#ratchet) throw new Error('no session: send hello and accept key material first');
    return formatSignedLine(signedText, this.#ratchet.sign(signedText));
  }
}
