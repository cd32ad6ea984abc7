import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BoardProtocol } from '../firmware-sim/board-protocol.ts';
import { helloClientId } from '../src/protocol/message.ts';
import { MemoryHub, SERIAL_POLICY } from './helpers/memory-session.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/**
 * Noise a serial line carries: any bytes but `\n`, as whole lines. A noise line that reads
 * as a hello (`h`, or `h <id>`, whatever the id) and starts a new session, as a rebooted board's does; those are
 * left out, since no board can tell them from its own.
 */
const noiseLine = fc
  .uint8Array({ maxLength: 80 })
  .map((a) => Buffer.from(a.filter((b) => b !== 0x0a)).toString('latin1'))
  .filter((l) => helloClientId(Buffer.from(l, 'latin1')) === undefined);

describe('BoardSession on a noisy serial line (property)', () => {
  it('random lines around an honest board never stop its updates landing, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: -500, max: 500 }), fc.array(noiseLine, { maxLength: 3 })), { minLength: 1, maxLength: 15 }), async (steps) => {
        const hub = new MemoryHub();
        hub.addBoard('example', 'secret123');
        const { link } = hub.open(SERIAL_POLICY);
        const board = new BoardProtocol('example', 'secret123');
        link.send(board.helloLine());
        await vi.advanceTimersByTimeAsync(0);
        board.acceptKeyMaterial(link.received.subarray(0, 32));
        for (const [t, noise] of steps) {
          for (const n of noise) link.send(`${n}\r\n`);
          link.send(board.updateLine({ temperature: { int: t } }).replace('\n', '\r\n'));
        }
        await vi.advanceTimersByTimeAsync(0);
        expect(hub.readings.map((r) => r.values.get('temperature'))).toEqual(steps.map(([t]) => t));
      }),
      { numRuns: 150 },
    );
  });
});
