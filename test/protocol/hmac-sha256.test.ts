import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacKey, hmacSha256 } from '../../src/protocol/hmac-sha256.ts';

describe('hmacSha256', () => {
  it('gives the RFC 4231 answers (a short key, a text key, a key longer than a block)', () => {
    expect(hmacSha256(Buffer.alloc(20, 0x0b), 'Hi There').toString('hex')).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(hmacSha256(Buffer.alloc(131, 0xaa), 'Test Using Larger Than Block-Size Key - Hash Key First').toString('hex')).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it("matches Node's createHmac for keys and messages around the block and padding edges, as bytes and as latin1 text", () => {
    for (const keyLength of [0, 1, 31, 32, 33, 63, 64, 65, 130]) {
      for (const messageLength of [0, 1, 32, 55, 56, 63, 64, 65, 119, 120, 200, 1000, 5000]) {
        const key = randomBytes(keyLength);
        const bytes = randomBytes(messageLength);
        const text = bytes.toString('latin1'); // every byte value, 0x80-0xff too
        const expected = createHmac('sha256', key).update(bytes).digest('hex');
        expect(hmacSha256(key, bytes).toString('hex'), `key ${keyLength}, bytes ${messageLength}`).toBe(expected);
        expect(hmacSha256(key, text).toString('hex'), `key ${keyLength}, text ${messageLength}`).toBe(expected);
      }
    }
  });

  it('gives the same answer after a long message grew its scratch, and answers of its own each time', () => {
    const key = randomBytes(32);
    const short = hmacSha256(key, 'u temperature 21.50');
    hmacSha256(key, 'x'.repeat(10_000));
    const again = hmacSha256(key, 'u temperature 21.50');
    expect(again.equals(short)).toBe(true);
    expect(again).not.toBe(short);
  });
});

describe('HmacKey', () => {
  const byCreateHmac = (key: Buffer, start: Buffer, rounds: number): Buffer => {
    let m = start;
    for (let i = 0; i < rounds; i++) m = createHmac('sha256', key).update(m).digest();
    return m;
  };

  it("is createHmac applied round after round, for keys around the block edge and starts of any length", () => {
    for (const keyLength of [0, 1, 32, 63, 64, 65, 130]) {
      for (const startLength of [0, 1, 31, 32, 33, 100]) {
        for (const rounds of [0, 1, 2, 128]) {
          const key = randomBytes(keyLength);
          const start = randomBytes(startLength);
          expect(new HmacKey(key).chain(start, rounds).toString('hex'), `key ${keyLength}, start ${startLength}, rounds ${rounds}`).toBe(byCreateHmac(key, start, rounds).toString('hex'));
        }
      }
    }
  });

  it("signs as createHmac does, for keys around the block edge and messages of every length, as bytes and latin1 text", () => {
    for (const keyLength of [0, 1, 32, 64, 65, 130]) {
      const key = randomBytes(keyLength);
      const hmacKey = new HmacKey(key);
      for (const messageLength of [0, 1, 31, 32, 33, 64, 200, 1000]) {
        const bytes = randomBytes(messageLength);
        const expected = createHmac('sha256', key).update(bytes).digest('hex');
        expect(hmacKey.sign(bytes).toString('hex'), `key ${keyLength}, bytes ${messageLength}`).toBe(expected);
        expect(hmacKey.sign(bytes.toString('latin1')).toString('hex'), `key ${keyLength}, text ${messageLength}`).toBe(expected);
      }
    }
  });

  it('gives each key its own pads: two keys signing in turn do not mix', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const [ka, kb] = [new HmacKey(a), new HmacKey(b)];
    const m = randomBytes(32);
    for (let i = 0; i < 3; i++) {
      expect(ka.sign(m).toString('hex')).toBe(createHmac('sha256', a).update(m).digest('hex'));
      expect(kb.sign(m).toString('hex')).toBe(createHmac('sha256', b).update(m).digest('hex'));
    }
  });

  it('leaves its start as it was', () => {
    const start = randomBytes(32);
    const copy = Buffer.from(start);
    new HmacKey(randomBytes(32)).chain(start, 128);
    expect(start.equals(copy)).toBe(true);
  });
});
