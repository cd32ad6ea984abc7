import { describe, expect, it } from 'vitest';
import { KeyRatchet } from '../../src/protocol/key-ratchet.ts';

const material = Buffer.alloc(32, 0xa5);

function pair(window: number): { board: KeyRatchet; gateway: KeyRatchet } {
  return { board: KeyRatchet.fromPreSharedKey('pre-shared', material), gateway: KeyRatchet.fromPreSharedKey('pre-shared', material, window) };
}

describe('KeyRatchet', () => {
  it('accepts messages in order with a window of 0', () => {
    const { board, gateway } = pair(0);
    for (let i = 0; i < 5; i++) expect(gateway.verify(`u t ${i}`, board.sign(`u t ${i}`))).toBe(0);
  });

  it('rejects a line after a lost one when the window is 0', () => {
    const { board, gateway } = pair(0);
    board.sign('u t 0'); // lost
    expect(gateway.verify('u t 1', board.sign('u t 1'))).toBe(-1);
  });

  it('resynchronises past lost lines inside the window', () => {
    const { board, gateway } = pair(3);
    board.sign('u t 0');
    board.sign('u t 1');
    expect(gateway.verify('u t 2', board.sign('u t 2'))).toBe(2);
    expect(gateway.verify('u t 3', board.sign('u t 3'))).toBe(0);
  });

  it('gives up beyond the window', () => {
    const { board, gateway } = pair(2);
    for (let i = 0; i < 3; i++) board.sign(`u t ${i}`);
    expect(gateway.verify('u t 3', board.sign('u t 3'))).toBe(-1);
  });

  it('never accepts a replayed line, even with a window', () => {
    const { board, gateway } = pair(4);
    const h0 = board.sign('u t 0');
    expect(gateway.verify('u t 0', h0)).toBe(0);
    expect(gateway.verify('u t 0', h0)).toBe(-1);
    const h1 = board.sign('u t 1');
    const h2 = board.sign('u t 2');
    expect(gateway.verify('u t 2', h2)).toBe(1);
    expect(gateway.verify('u t 1', h1)).toBe(-1); // an older key, skipped over: never again
  });

  it('takes an HMAC as 32 decoded bytes the same as in hex, refuses any other length, and stays in sync after a refusal', () => {
    const { board, gateway } = pair(0);
    const hex = board.sign('u t 0');
    expect(gateway.verifyBytes('u t 0', Buffer.from(hex, 'hex').subarray(0, 31))).toBe(-1);
    expect(gateway.verifyBytes('u t 0', Buffer.from(hex + '00', 'hex'))).toBe(-1);
    expect(gateway.verifyBytes('u t 0', Buffer.from(hex, 'hex'))).toBe(0);
    expect(gateway.verify('u t 1', board.sign('u t 1').toUpperCase())).toBe(-1); // not the wire's shape
  });

  it('compares the whole HMAC: one bit wrong in any of its 32 bytes is refused, and the session stays in sync', () => {
    const { board, gateway } = pair(0);
    const good = Buffer.from(board.sign('u t 0'), 'hex');
    for (let i = 0; i < 32; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(good);
        bad[i] = (bad[i] as number) ^ bit;
        expect(gateway.verifyBytes('u t 0', bad), `byte ${i}, bit ${bit}`).toBe(-1);
        expect(gateway.verify('u t 0', bad.toString('hex')), `byte ${i}, bit ${bit}, as hex`).toBe(-1);
      }
    }
    expect(gateway.verifyBytes('u t 0', good)).toBe(0);
  });

  it('refuses a window outside 0..64', () => {
    expect(() => KeyRatchet.fromPreSharedKey('k', material, 65)).toThrow(/look-ahead window/);
    expect(() => KeyRatchet.fromPreSharedKey('k', material, 64)).not.toThrow();
    expect(() => KeyRatchet.fromPreSharedKey('k', material, -1)).toThrow(/look-ahead window/);
  });
});
