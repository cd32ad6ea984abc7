/**
 * The board firmware: flash and static RAM of both examples, and the real SerialThermistor on a
 * simulated ATmega328P against `serve --serial`: hello to first update, and simulation speed.
 * `RRDUINO_ETHERNET_LIB=<Arduino Ethernet library checkout>` builds EthernetThermistor against
 * the real library as well (none is packaged here, so it is not fetched).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AvrBoard } from '../../firmware-sim/avr-board.ts';
import { ARDUINO_AVR, AVR_DIR, buildAvrSketch, buildHarness, FIRMWARE_DIR, type AvrImage } from '../../firmware-sim/firmware-build.ts';
import { stopProcess, tempDir, waitFor, writeProfileFile, rrduinoProfile } from '../helpers/fixtures.ts';
import { SERVER_JS } from '../helpers/repo.ts';

export interface FirmwareBench {
  images: Array<{ name: string; image: AvrImage }>;
  /** The firmware's hello line → its first update line, simulated seconds. */
  helloToFirstUpdateSimS: number;
  /** Simulated seconds per wall second. */
  speed: number;
}

const SPI = join(ARDUINO_AVR, 'libraries', 'SPI', 'src');

export async function benchFirmware(): Promise<FirmwareBench> {
  const { dir, cleanup } = await tempDir('rrduino-bench-fw-');
  try {
    const images: FirmwareBench['images'] = [];
    const serialConfig = '#define CLIENT_ID "bench"\n#define CLIENT_KEY "bench-key-0123456789abcdef01234"\n#define INTERVAL_MS 5000UL\n#define SERIAL_BAUD 9600\n#define REHELLO_MS 0UL\n';
    const serial = await buildAvrSketch({ sketchDir: join(FIRMWARE_DIR, 'examples', 'SerialThermistor'), configH: serialConfig, outDir: join(dir, 'serial') });
    images.push({ name: 'SerialThermistor', image: serial });
    const standin = join(AVR_DIR, 'ethernet-standin');
    images.push({
      name: 'EthernetThermistor, Ethernet library stand-in (the RRDuino part)',
      image: await buildAvrSketch({ sketchDir: join(FIRMWARE_DIR, 'examples', 'EthernetThermistor'), outDir: join(dir, 'eth'), includeDirs: [standin, SPI], sources: [join(standin, 'Ethernet.cpp'), join(SPI, 'SPI.cpp')] }),
    });
    const real = process.env['RRDUINO_ETHERNET_LIB'];
    if (real) {
      const src = join(real, 'src');
      const sources = [...(await readdir(src)).filter((f) => f.endsWith('.cpp')).map((f) => join(src, f)), join(src, 'utility', 'w5100.cpp'), join(SPI, 'SPI.cpp')];
      images.push({ name: 'EthernetThermistor with the real Ethernet library', image: await buildAvrSketch({ sketchDir: join(FIRMWARE_DIR, 'examples', 'EthernetThermistor'), outDir: join(dir, 'eth-real'), includeDirs: [src, SPI], sources }) });
    }

    const profile = rrduinoProfile('bench-key-0123456789abcdef01234', ['temperature', 'adc']) as { handler_options: { path: string } };
    profile.handler_options.path = 'bench.rrd';
    await writeProfileFile(join(dir, 'profiles'), 'bench', profile);
    const pty = join(dir, 'tty');
    const board = await AvrBoard.start({ harness: await buildHarness(join(dir, 'harness')), elf: serial.elf, ptyLink: pty, adcMillivolts: 2000 });
    const gateway = spawn(process.execPath, [SERVER_JS, 'serve', '--http', '127.0.0.1:0', '--profiles', join(dir, 'profiles'), '--data', join(dir, 'data'), '--port', '0', '--serial', pty], { stdio: ['ignore', 'pipe', 'inherit'] });
    let log = '';
    gateway.stdout.on('data', (c: Buffer) => (log += c.toString()));
    try {
      await waitFor(() => log.includes('serial port open'), 15_000, 'port open');
      const started = Date.now();
      board.go();
      await waitFor(() => log.includes('created rrd file'), 60_000, 'first update');
      await new Promise((r) => setTimeout(r, 3000));
      const lines = board.lineTimes.length;
      const simulated = await board.stop();
      if (lines < 3) throw new Error('the board sent no update');
      const speed = simulated / ((Date.now() - started) / 1000);
      // The board's lines: the bare newline that ends any half line, the hello, then updates.
      const [, hello = NaN, firstUpdate = NaN] = board.lineTimes;
      return { images, helloToFirstUpdateSimS: firstUpdate - hello, speed };
    } finally {
      await board.stop();
      await stopProcess(gateway);
    }
  } finally {
    await cleanup();
  }
}
