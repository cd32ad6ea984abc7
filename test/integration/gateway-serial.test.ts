import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedBoard } from '../../firmware-sim/simulated-board.ts';
import { serialLink } from '../../firmware-sim/serial-link.ts';
import type { SerialLine } from '../../src/transport/serial-line.ts';
import { EXAMPLE_KEY, rrduinoProfile, tempDir, waitFor } from '../helpers/fixtures.ts';
import { startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { PtyPair } from '../helpers/pty-pair.ts';
import { fetchValues } from '../helpers/rrd-read.ts';

/** Key material with every byte a naive serial path would mangle: LF, NUL, CR, XON, XOFF, 0xff. */
const NASTY_MATERIAL = Buffer.from([0x0a, 0x00, 0x0d, 0x11, 0x13, 0xff, 0x0a, 0x0a, ...Array.from({ length: 24 }, (_, i) => (i * 37) & 0xff)]);

let h: Harness;
let pty: PtyPair;
let line: SerialLine;
let board: SimulatedBoard;
let cleanupDir: () => Promise<void>;

beforeEach(async () => {
  const t = await tempDir('rrduino-pty-');
  cleanupDir = t.cleanup;
  pty = new PtyPair(t.dir);
  await pty.start();
  h = await startHarness({ example: rrduinoProfile() }, { random: () => Buffer.from(NASTY_MATERIAL), serialRetry: { minMs: 50, maxMs: 200 } });
  line = h.gateway.attachSerial({ path: pty.gatewayEnd, baudRate: 115200, lookahead: 3 });
  await waitFor(() => line.isOpen, 5000, 'gateway opens the pty');
  board = new SimulatedBoard({
    clientId: 'example',
    key: EXAMPLE_KEY,
    connect: serialLink(pty.boardEnd, 115200),
    intervalMs: 0,
    lineEnding: '\r\n', // Serial.println
    helloTimeoutMs: 1000, // a real board resets and says hello again; this one retries
    reconnectDelayMs: 100,
  });
  board.start();
  await board.waitReady();
});

afterEach(async () => {
  await board.stop();
  await h.close();
  await pty.stop();
  await cleanupDir();
});

/** Updates the rrd took: stored, or coalesced with an earlier one of the same second (one value per second is kept). */
const stored = (): number => h.backend.stats.get('updates.stored') + h.backend.stats.get('updates.coalesced');

describe('boards on serial ptys', () => {
  it('handshakes over binary key material with LF, NUL, CR, XON, XOFF and 0xff, and stores updates', { timeout: 15_000 }, async () => {
    for (const t of [21.5, 21.5, -3.25, -3.25, 0]) {
      board.send({ temperature: t });
      await new Promise((r) => setTimeout(r, 1100));
    }
    await waitFor(() => stored() === 5, 5000, 'five updates');
    expect(await fetchValues(join(h.dataDir, 'board.rrd'))).toEqual(expect.arrayContaining([21.5, -3.25]));
    expect(h.backend.stats.get('lines.noise')).toBe(0);
  });

  it('skips boot noise and half lines without ending the session, and counts them', async () => {
    board.writeRaw(Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x0a])); // noise
    board.send({ temperature: 1 });
    board.writeRaw('u temper\n'); // a half line after replugging
    board.writeRaw(Buffer.from('\x07\x1b[0m garbage\r\n'));
    board.send({ temperature: 2 });
    await waitFor(() => stored() === 2, 5000, 'both updates');
    expect(h.backend.stats.get('lines.noise')).toBe(3);
  });

  it('resynchronises after a lost line inside the look-ahead window', async () => {
    board.send({ temperature: 1 });
    board.protocol.updateLine({ temperature: 2 }); // signed and lost on the wire
    board.protocol.updateLine({ temperature: 3 }); // lost too
    board.send({ temperature: 4 });
    await waitFor(() => stored() === 2, 5000, 'updates around the gap');
    expect(h.backend.stats.get('resyncs')).toBe(1);
    expect(h.readings.map((r) => r.values.get('temperature'))).toEqual([1, 4]);
  });

  it('never accepts a replayed line, and the session goes on', async () => {
    const first = board.send({ temperature: 1 }) as string;
    board.writeRaw(first); // replay
    board.send({ temperature: 2 });
    await waitFor(() => stored() === 2, 5000, 'the two genuine updates');
    expect(h.backend.stats.get('errors.E_BAD_HMAC')).toBe(1);
    expect(h.readings.map((r) => r.values.get('temperature'))).toEqual([1, 2]);
  });

  it('keeps the session when line noise parses as a hello, and stores every update around it', { timeout: 15_000 }, async () => {
    board.send({ temperature: 1 });
    await waitFor(() => stored() === 1, 5000, 'the first update');
    board.writeRaw('h zq\r\n'); // noise that reads as a hello of an id nobody has
    board.send({ temperature: 2 });
    board.send({ temperature: 3 });
    await waitFor(() => stored() === 3, 5000, 'the updates after the noise');
    expect(h.readings.map((r) => r.values.get('temperature'))).toEqual([1, 2, 3]);
    expect(h.backend.stats.get('hellos.noise')).toBe(1);
    expect(h.backend.stats.get('hellos')).toBe(2); // the board's own, and the noise
  });

  it('stores a verified but unreadable value as U, and the session goes on', async () => {
    board.writeRaw(board.protocol.signedLine('u temperature abc'));
    board.send({ temperature: 1 });
    await waitFor(() => h.readings.length === 2, 5000, 'both updates');
    expect(h.backend.stats.get('errors.E_BAD_VALUE')).toBe(1);
    expect(h.backend.stats.get('lines.noise')).toBe(0);
    expect(h.readings.map((r) => r.values.get('temperature'))).toEqual([null, 1]);
  });

  it('reopens the port after the device vanishes and comes back; the board’s next hello works', { timeout: 20_000 }, async () => {
    board.send({ temperature: 1 });
    await waitFor(() => stored() === 1);
    await pty.stop(); // unplugged
    await waitFor(() => !line.isOpen, 5000, 'gateway sees the port go');
    await new Promise((r) => setTimeout(r, 500)); // a few failed reopen attempts (ENOENT)
    expect(h.backend.stats.get('errors.E_INTERNAL')).toBe(0);
    await pty.start(); // plugged back in
    await waitFor(() => line.isOpen && h.logs.lines.filter((l) => l['msg'] === 'serial port open').length === 2, 5000, 'gateway reopens');
    await board.waitReady();
    board.send({ temperature: 2 });
    await waitFor(() => stored() === 2, 5000, 'update after replug');
  });
});
