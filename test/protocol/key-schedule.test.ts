import { describe, expect, it } from 'vitest';
import { KeyRatchet } from '../../src/protocol/key-ratchet.ts';
import { advanceKey, deriveMasterKey, deriveSessionKey, HmacKey, signText, verifyHmac } from '../../src/protocol/key-schedule.ts';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { loadKat } from '../helpers/repo.ts';

interface RrduinoKat {
  rounds: number;
  cases: Array<{
    name: string;
    client_id: string;
    pre_shared_key: string;
    hello_line: string;
    master_key_hex: string;
    key_material_hex: string;
    first_session_key_hex: string;
    messages: Array<{ session_key_hex: string; signed_text: string; hmac: string; line: string }>;
    session_key_after_last_hex: string;
  }>;
}

const kat = loadKat<RrduinoKat>('rrduino-kat.json');

describe('rrduino-kat.json', () => {
  it('has cases to check', () => {
    expect(kat.rounds).toBe(128);
    expect(kat.cases.length).toBeGreaterThan(0);
  });

  for (const c of kat.cases) {
    describe(c.name, () => {
      const material = Buffer.from(c.key_material_hex, 'hex');

      it('derives the master key as SHA-256 of the pre-shared key', () => {
        expect(deriveMasterKey(c.pre_shared_key).toString('hex')).toBe(c.master_key_hex);
      });

      it('derives the first session key with 128 HMAC rounds', () => {
        expect(deriveSessionKey(new HmacKey(deriveMasterKey(c.pre_shared_key)), material, kat.rounds).toString('hex')).toBe(c.first_session_key_hex);
      });

      it('signs every message and advances the key after each', () => {
        const master = new HmacKey(deriveMasterKey(c.pre_shared_key));
        let key: Buffer = Buffer.from(c.first_session_key_hex, "hex");
        for (const m of c.messages) {
          expect(key.toString('hex')).toBe(m.session_key_hex);
          expect(signText(key, m.signed_text)).toBe(m.hmac);
          expect(verifyHmac(key, m.signed_text, m.hmac)).toBe(true);
          key = advanceKey(master, key);
        }
        expect(key.toString('hex')).toBe(c.session_key_after_last_hex);
      });

      it('lets the gateway ratchet verify each line in order', () => {
        const ratchet = KeyRatchet.fromPreSharedKey(c.pre_shared_key, material);
        for (const m of c.messages) expect(ratchet.verify(m.signed_text, m.hmac)).toBe(0);
        // Its key is now the known one after the last message: what it signs shows it, without exposing it.
        expect(ratchet.sign('probe')).toBe(signText(Buffer.from(c.session_key_after_last_hex, 'hex'), 'probe'));
      });

      it('makes the simulated board send the exact known lines', () => {
        const board = new BoardProtocol(c.client_id, c.pre_shared_key);
        expect(board.helloLine()).toBe(c.hello_line);
        board.acceptKeyMaterial(material);
        for (const m of c.messages) expect(board.signedLine(m.signed_text)).toBe(m.line);
      });
    });
  }
});

describe('verifyHmac', () => {
  const key = Buffer.alloc(32, 7);
  const good = signText(key, 'u t 1');

  it('rejects an HMAC of the wrong length, case or alphabet', () => {
    expect(verifyHmac(key, 'u t 1', good.slice(0, 63))).toBe(false);
    expect(verifyHmac(key, 'u t 1', good.toUpperCase())).toBe(false);
    expect(verifyHmac(key, 'u t 1', `${good.slice(0, 63)}g`)).toBe(false);
  });

  it('rejects an HMAC of other text', () => {
    expect(verifyHmac(key, 'u t 2', good)).toBe(false);
  });
});
