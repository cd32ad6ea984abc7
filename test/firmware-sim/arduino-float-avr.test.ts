import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arduinoPrintFloat } from '../../firmware-sim/arduino-float.ts';
import { AvrBoard } from '../../firmware-sim/avr-board.ts';
import { AVR_DIR, buildAvrSketch, buildHarness } from '../../firmware-sim/firmware-build.ts';
import { tempDir, waitFor } from '../helpers/fixtures.ts';

// firmware-sim's float printing against the AVR core's own Print::printFloat: a sketch
// (firmware-sim/avr/FloatPrint) prints 400 floats on a simulated ATmega328P, with their bits.

const COUNT = 400;
let printed = '';
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const t = await tempDir('rrduino-float-');
  cleanup = t.cleanup;
  const [image, harness] = await Promise.all([
    buildAvrSketch({ sketchDir: join(AVR_DIR, 'FloatPrint'), configH: `#define COUNT ${COUNT}\n`, outDir: join(t.dir, 'build') }),
    buildHarness(join(t.dir, 'harness')),
  ]);
  const pty = join(t.dir, 'tty');
  const board = await AvrBoard.start({ harness, elf: image.elf, ptyLink: pty, adcMillivolts: 0 });
  const port = new SerialPort({ path: pty, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('data', (c: Buffer) => (printed += c.toString('latin1')));
  board.go();
  try {
    await waitFor(() => printed.includes('end\r\n'), 60_000, 'the AVR to print every value');
  } finally {
    await board.stop();
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}, 180_000);
afterAll(() => cleanup());

describe('arduinoPrintFloat against the AVR core', () => {
  it(`prints each of ${COUNT} floats the AVR build generated exactly as the AVR printed it`, () => {
    const lines = printed.split('\r\n').filter((l) => /^[0-9A-F]+ \d /.test(l));
    expect(lines).toHaveLength(COUNT);
    const view = new DataView(new ArrayBuffer(4));
    const mismatches: string[] = [];
    for (const line of lines) {
      const [bits = '', decimals = '', text = ''] = line.split(' ');
      view.setUint32(0, parseInt(bits, 16));
      const ours = arduinoPrintFloat(view.getFloat32(0), Number(decimals));
      if (ours !== text) mismatches.push(`${bits} (${view.getFloat32(0)}) with ${decimals}: AVR ${text}, ours ${ours}`);
    }
    expect(mismatches).toEqual([]);
    // The run covers what matters: thermistor readings, negatives, nan/inf/ovf, tiny values.
    expect(lines.some((l) => l.endsWith(' nan'))).toBe(true);
    expect(lines.some((l) => l.endsWith(' ovf'))).toBe(true);
    expect(lines.some((l) => / -\d/.test(l))).toBe(true);
  });
});
