import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arduinoPrintFloat } from '../../firmware-sim/arduino-float.ts';
import { ARDUINO_AVR, AVR_DIR, buildAvrSketch, buildHostSketch, FIRMWARE_DIR } from '../../firmware-sim/firmware-build.ts';
import { firmwareTemperature } from '../../firmware-sim/thermistor.ts';
import { configHeader } from '../helpers/firmware.ts';
import { freePort, stopProcess, tempDir, waitFor } from '../helpers/fixtures.ts';
import { spawnGateway } from '../helpers/gateway-process.ts';
import { SERVER_JS } from '../helpers/repo.ts';
import { lastUpdateValues, readRrd } from '../helpers/rrd-read.ts';

// EthernetThermistor: built for the AVR (with a stand-in for the Ethernet library, which no
// package here provides), and built for the host, where EthernetClient is a POSIX socket,
// against a real `serve` over TCP.

const run = promisify(execFile);
const SKETCH = join(FIRMWARE_DIR, 'examples', 'EthernetThermistor');
const ADC = 700;

let dir: string;
let cleanup: () => Promise<void>;
let profiles: string;
let configH: string;
let gateway: ChildProcess | undefined;
let port: number;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rrduino-eth-'));
  profiles = join(dir, 'profiles');
  const created = await run(process.execPath, [SERVER_JS, 'create', 'porch', '--profiles', profiles, '--step', '1', '--source', 'temperature:GAUGE:-50:110', '--source', 'adc:GAUGE:0:1023']);
  port = await freePort();
  configH = configHeader(created.stdout, {
    GATEWAY_HOST: '"127.0.0.1"',
    GATEWAY_PORT: String(port),
    BOARD_MAC: '{ 0xDE, 0xAD, 0xBE, 0xEF, 0xFE, 0xED }',
    BOARD_IP: '127, 0, 0, 1',
    INTERVAL_MS: '1100UL',
  });
}, 60_000);

afterAll(async () => {
  await stopProcess(gateway);
  await cleanup();
});

async function lastValues(): Promise<Partial<Record<string, string>> | undefined> {
  return (await lastUpdateValues(join(dir, 'data', 'porch.rrd')))?.values;
}

/** Runs the host build until `until` holds or `ms` pass; returns what it printed. */
async function runBoard(exe: string, ms: number, until: () => Promise<boolean>): Promise<string> {
  const proc = spawn(exe, [], { env: { ...process.env, RRDUINO_ADC: String(ADC) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(until, ms, 'the board').finally(() => stopProcess(proc));
  return out;
}

describe('EthernetThermistor', () => {
  it('compiles and links for an ATmega328P', async () => {
    const standin = join(AVR_DIR, 'ethernet-standin');
    const spi = join(ARDUINO_AVR, 'libraries', 'SPI', 'src');
    const image = await buildAvrSketch({ sketchDir: SKETCH, configH, outDir: join(dir, 'avr'), includeDirs: [standin, spi], sources: [join(standin, 'Ethernet.cpp'), join(spi, 'SPI.cpp')] });
    console.log(`EthernetThermistor (Ethernet library stand-in): ${image.flashBytes} B flash, ${image.ramBytes} B static RAM`);
    expect(image.flashBytes).toBeGreaterThan(4000);
  }, 120_000);

  it('its protocol code, built for the host, says hello, signs, and its updates land in the rrd', async () => {
    const exe = await buildHostSketch({ sketchDir: SKETCH, configH, outDir: join(dir, 'host') });
    gateway = await spawnGateway(['serve', '--http', '127.0.0.1:0', '--profiles', profiles, '--data', join(dir, 'data'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], port);
    const out = await runBoard(exe, 20_000, async () => (await lastValues()) !== undefined && (await lastValues())?.['adc'] === String(ADC));
    expect(out).toContain('hello: session key derived');
    expect((await lastValues())?.['temperature']).toBe(String(Number(arduinoPrintFloat(firmwareTemperature(ADC), 2))));
  }, 60_000);

  it('reconnects and says hello again when the gateway restarts', async () => {
    const exe = join(dir, 'host', 'EthernetThermistor');
    const seen = async (): Promise<number> => Number((await readRrd(['last', join(dir, 'data', 'porch.rrd')])).stdout.trim());
    const proc = spawn(exe, [], { env: { ...process.env, RRDUINO_ADC: String(ADC) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => out.includes('sent '), 10_000, 'a first update');
      await stopProcess(gateway);
      gateway = await spawnGateway(['serve', '--http', '127.0.0.1:0', '--profiles', profiles, '--data', join(dir, 'data'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], port);
      const before = await seen();
      await waitFor(async () => (await seen()) > before + 1, 20_000, 'updates after the restart');
      expect(out.match(/hello: session key derived/g)?.length).toBeGreaterThanOrEqual(2);
    } finally {
      await stopProcess(proc);
    }
  }, 60_000);
});
