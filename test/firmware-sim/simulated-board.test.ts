import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SimulatedBoard } from '../../firmware-sim/simulated-board.ts';
import { waitFor } from '../helpers/fixtures.ts';

/** A link that keeps what the board writes and never answers. */
function recordingLink(): { link: Duplex; written: () => string } {
  let written = '';
  const link = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      written += chunk.toString('latin1');
      done();
    },
  });
  return { link, written: () => written };
}

describe('SimulatedBoard', () => {
  it('writes its hello as the firmware does: CRLF, after a bare newline on serial', async () => {
    for (const serial of [true, false]) {
      const { link, written } = recordingLink();
      const board = new SimulatedBoard({ clientId: 'example', key: 'secret123', connect: () => link, newlineBeforeHello: serial, helloTimeoutMs: 60_000 });
      board.start();
      await waitFor(() => written().length > 0, 2000, 'the hello');
      expect(written()).toBe(serial ? '\nh example\r\n' : 'h example\r\n');
      await board.stop();
    }
  });
});
