import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arduinoPrintFloat } from '../../firmware-sim/arduino-float.ts';
import { AvrBoard } from '../../firmware-sim/avr-board.ts';
import { buildAvrSketch, buildHarness, FIRMWARE_DIR, type AvrImage } from '../../firmware-sim/firmware-build.ts';
import { firmwareTemperature } from '../../firmware-sim/thermistor.ts';
import { configHeader } from '../helpers/firmware.ts';
import { freePort, stopProcess, tempDir, waitFor } from '../helpers/fixtures.ts';
import { trackProcess } from '../helpers/reaper.ts';
import { SERVER_JS } from '../helpers/repo.ts';
import { lastUpdateValues } from '../helpers/rrd-read.ts';

// The real SerialThermistor firmware on a simulated ATmega328P (simavr), its serial port
// on a pty, against `serve --serial` as users run it. The board is made as a user makes
// it: `create`, the two lines pasted into config.h.

const run = promisify(execFile);
const ADC_MILLIVOLTS = 1800;

let dir: string;
let cleanup: () => Promise<void>;
let image: AvrImage;
let harnessBin: string;
let profilesDir: string;
let board: AvrBoard | undefined;
let gateway: ChildProcess | undefined;
let gatewayLog = '';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rrduino-avr-'));
  const profiles = join(dir, 'profiles');
  const created = await run(process.execPath, [SERVER_JS, 'create', 'simboard', '--profiles', profiles, '--step', '1', '--source', 'temperature:GAUGE:-50:110', '--source', 'adc:GAUGE:0:1023']);
  // Five simulated seconds between readings: the rrd's 1 s step takes one update a second.
  const configH = configHeader(created.stdout, { INTERVAL_MS: '5000UL', SERIAL_BAUD: '9600', REHELLO_MS: '0UL' });
  const [built, harness] = await Promise.all([
    buildAvrSketch({ sketchDir: join(FIRMWARE_DIR, 'examples', 'SerialThermistor'), configH, outDir: join(dir, 'build') }),
    buildHarness(join(dir, 'harness')),
  ]);
  image = built;
  harnessBin = harness;
  profilesDir = profiles;
  const pty = join(dir, 'ttyBOARD');
  board = await AvrBoard.start({ harness, elf: image.elf, ptyLink: pty, adcMillivolts: ADC_MILLIVOLTS });
  gateway = spawn(process.execPath, [SERVER_JS, 'serve', '--http', '127.0.0.1:0', '--profiles', profiles, '--data', join(dir, 'data'), '--port', '0', '--serial', pty], { stdio: ['ignore', 'pipe', 'pipe'] });
  gateway.stdout?.on('data', (c: Buffer) => (gatewayLog += c.toString()));
  gateway.stderr?.on('data', (c: Buffer) => (gatewayLog += c.toString()));
  await waitFor(() => gatewayLog.includes('serial port open'), 15_000, 'the gateway to open the pty');
}, 180_000);

afterAll(async () => {
  await board?.stop();
  await stopProcess(gateway);
  await cleanup();
});

async function lastUpdate(): Promise<{ time: number; values: Partial<Record<string, string>> } | undefined> {
  return lastUpdateValues(join(dir, 'data', 'simboard.rrd'));
}

describe('SerialThermistor on a simulated ATmega328P', () => {
  it('fits an Uno with room to spare: at most 16 KB of flash and 1 KB of static RAM', () => {
    console.log(`SerialThermistor: ${image.flashBytes} B flash, ${image.ramBytes} B static RAM`);
    expect(image.flashBytes).toBeLessThanOrEqual(16 * 1024);
    expect(image.ramBytes).toBeLessThanOrEqual(1024);
  });

  it('says hello, derives its key, and its signed updates land in the rrd with the temperature the thermistor model gives', async () => {
    const started = Date.now();
    board?.go();
    await waitFor(async () => (await lastUpdate()) !== undefined, 60_000, 'the first update in the rrd');
    const firstAt = Date.now();
    const first = await lastUpdate();
    await waitFor(async () => ((await lastUpdate())?.time ?? 0) >= (first?.time ?? 0) + 2, 60_000, 'two more updates');
    const last = await lastUpdate();
    const adc = Number(last?.values['adc']);
    expect(Math.abs(adc - (ADC_MILLIVOLTS * 1023) / 5000)).toBeLessThanOrEqual(1);
    // The value the firmware printed, the same firmware-sim computes for that ADC count.
    expect(Number(last?.values['temperature'])).toBe(Number(arduinoPrintFloat(firmwareTemperature(adc), 2)));
    expect(gatewayLog).toContain('"msg":"hello"');
    expect(gatewayLog).not.toMatch(/E_BAD_HMAC|E_NO_SESSION|"level":50/);
    // The board's lines: the hello, then updates.
    const [hello = NaN, firstUpdate = NaN] = board?.lineTimes ?? [];
    expect(firstUpdate).toBeGreaterThan(hello);
    const simulated = (await board?.stop()) ?? NaN;
    board = undefined;
    const wall = (Date.now() - started) / 1000;
    console.log(`hello → first update sent: ${(firstUpdate - hello).toFixed(2)} s simulated; go → first update in the rrd ${((firstAt - started) / 1000).toFixed(2)} s wall; simulation ran ${(simulated / wall).toFixed(2)}× real time (${simulated.toFixed(1)} s in ${wall.toFixed(1)} s)`);
  }, 120_000);
});

describe('SerialThermistor behind a serial-to-TCP bridge (socat pty ↔ tcp, as ser2net does)', () => {
  it('says hello through the bridge to the TCP port, and its updates land in the rrd', async () => {
    const pty = join(dir, 'ttyBRIDGED');
    const data = join(dir, 'data-bridged');
    const bridged = await AvrBoard.start({ harness: harnessBin, elf: image.elf, ptyLink: pty, adcMillivolts: ADC_MILLIVOLTS });
    const port = await freePort();
    let log = '';
    const gw = spawn(process.execPath, [SERVER_JS, 'serve', '--http', 'off', '--profiles', profilesDir, '--data', data, '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    trackProcess(gw);
    gw.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    let bridge: ChildProcess | undefined;
    try {
      await waitFor(() => log.includes('listening for boards'), 15_000, 'the gateway');
      bridge = spawn('socat', [`FILE:${pty},raw,echo=0`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' });
      trackProcess(bridge);
      bridged.go();
      await waitFor(async () => (await lastUpdateValues(join(data, 'simboard.rrd'))) !== undefined, 90_000, 'an update through the bridge');
      expect(log).not.toMatch(/E_EMPTY_LINE|E_BAD_HMAC|"level":50/);
    } finally {
      await bridged.stop();
      await stopProcess(bridge);
      await stopProcess(gw);
    }
  }, 150_000);
});

