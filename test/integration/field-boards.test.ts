import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { rrduinoProfile, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { lastUpdateValues, readRrd } from '../helpers/rrd-read.ts';

// What boards already in the field send, and what the original server served
// (docs/protocol.md, "Gateway behaviour"); each outcome is read back from the rrd.


let h: Harness;
let clock = 0;

/** A profile whose rrd is `<id-free name>.rrd` and accepts the test's clock, one second a reading. */
function profile(key: string, sources: string[], file: string): object {
  const p = rrduinoProfile(key, sources) as { handler_options: { path: string; create: string[] } };
  p.handler_options.path = file;
  p.handler_options.create.unshift('--start', String(clock / 1000 - 10));
  return p;
}

beforeAll(async () => {
  clock = Math.floor(Date.now() / 1000) * 1000 - 1200_000;
  // A template may name keys that start with a digit: DS18B20 addresses, 1wire.
  const onewire = profile('onewire-key-0123456789', ['t1', 't2'], 'onewire.rrd') as { handler_options: { update: string } };
  onewire.handler_options.update = 'N:{28ff4a0b1c00}:{1wire}';
  h = await startHarness(
    {
      example: profile('secret123', ['temperature', 'humidity'], 'example.rrd'),
      original: profile('secret', ['temperature'], 'original.rrd'), // the original config.h default key
      'kitchen#1': profile('kitchen-key-0123456789', ['temperature'], 'kitchen.rrd'),
      onewire,
    },
    { now: () => (clock += 1000) },
  );
});
afterAll(() => h.close());

/** `rrdtool lastupdate` of a file in the data dir: data source → the last value ('U' for unknown). */
async function lastValues(file: string): Promise<Partial<Record<string, string>>> {
  return (await lastUpdateValues(join(h.dataDir, file)))?.values ?? {};
}

/** The last value of one data source, undefined while the rrd does not exist yet. */
async function lastValue(file: string, ds: string): Promise<string | undefined> {
  return (await lastValues(file))[ds];
}

/** Sends `line` on a session, then a normal update, and waits for both to be handled. */
async function thenNormal(c: RawClient, board: BoardProtocol, line: string, normal: Record<string, number>): Promise<void> {
  const before = h.readings.length;
  c.send(line);
  c.send(board.updateLine(normal));
  await waitFor(() => h.readings.length === before + 2, 5000, 'the odd update and the normal one after it');
  expect(await c.closedWithin(50)).toBe(false);
}

describe('boards in the field', () => {
  it('serves a board whose key is the original default "secret", and warns about the short key', async () => {
    const { c, board } = await helloBoard(h.port, 'original', 'secret');
    c.send(board.updateLine({ temperature: 21.5 }));
    await waitFor(async () => (await lastValue('original.rrd', 'temperature')) === '21.5', 5000, 'stored');
    expect(h.logs.lines.some((l) => l['code'] === 'W_SHORT_KEY' && l['clientId'] === 'original')).toBe(true);
    expect(JSON.stringify(h.logs.lines)).not.toContain('"secret"');
    c.destroy();
  });

  it('answers and serves a client id outside [A-Za-z0-9._-] (kitchen#1)', async () => {
    const { c, board } = await helloBoard(h.port, 'kitchen#1', 'kitchen-key-0123456789');
    c.send(board.updateLine({ temperature: 19.25 }));
    await waitFor(async () => (await lastValue('kitchen.rrd', 'temperature')) === '19.25', 5000, 'stored');
    c.destroy();
  });

  for (const line of ['h ../x', 'h a/b', 'h .hidden', 'h a b', 'h', `h ${'x'.repeat(65)}`, 'h k\u00fcche']) {
    it(`answers the unusable hello '${line.slice(0, 12)}' with 32 bytes, then rejects what follows`, async () => {
      const c = await RawClient.open(h.port);
      c.send(`${line}\r\n`);
      expect((await c.read(32)).length).toBe(32);
      const board = new BoardProtocol('example', 'secret123');
      board.acceptKeyMaterial(c.received.subarray(0, 32));
      c.send(board.updateLine({ temperature: 1 }));
      expect(await c.closedWithin(2000)).toBe(true);
      expect(h.logs.lines.some((l) => l['code'] === 'E_UNKNOWN_CLIENT' || l['code'] === 'E_BAD_CLIENT_ID')).toBe(true);
    });
  }

  it('stores update keys that are DS18B20 addresses or start with a digit', async () => {
    const { c, board } = await helloBoard(h.port, 'onewire', 'onewire-key-0123456789');
    c.send(board.updateLine({ '28ff4a0b1c00': 4.5, '1wire': 6 }));
    await waitFor(async () => (await lastValue('onewire.rrd', 't2')) === '6', 5000, 'stored');
    expect(await lastValues('onewire.rrd')).toEqual({ t1: '4.5', t2: '6' });
    c.destroy();
  });

  for (const value of ['nan', 'inf', '1e999', 'abc', '1:2']) {
    it(`stores a verified value '${value}' as U, keeps the other values, and the session goes on`, async () => {
      const { c, board } = await helloBoard(h.port);
      const before = h.readings.length;
      c.send(board.signedLine(`u temperature ${value} humidity 40`));
      await waitFor(() => h.readings.length === before + 1, 5000, 'the update');
      await waitFor(async () => (await lastValues('example.rrd'))['humidity'] === '40', 5000, 'stored');
      expect(await lastValues('example.rrd')).toEqual({ temperature: 'U', humidity: '40' });
      await thenNormal(c, board, board.updateLine({ temperature: 1, humidity: 2 }), { temperature: 3, humidity: 4 });
      expect(h.logs.lines.some((l) => l['code'] === 'E_BAD_VALUE' && l['field'] === 'temperature')).toBe(true);
      c.destroy();
    });
  }

  it('keeps the last value of a repeated key', async () => {
    const { c, board } = await helloBoard(h.port);
    await thenNormal(c, board, board.signedLine('u temperature 1.00 humidity 2 temperature 7.50'), { temperature: 8, humidity: 9 });
    expect(h.readings.at(-2)?.values).toEqual(new Map([['humidity', 2], ['temperature', 7.5]]));
    c.destroy();
  });

  it('ignores a dangling key and stores the rest', async () => {
    const { c, board } = await helloBoard(h.port);
    const before = h.readings.length;
    c.send(board.signedLine('u temperature 12.50 humidity 33 battery'));
    await waitFor(() => h.readings.length === before + 1, 5000, 'the update');
    await waitFor(async () => (await lastValues('example.rrd'))['humidity'] === '33', 5000, 'stored');
    expect((await lastValues('example.rrd'))['temperature']).toBe('12.5');
    await thenNormal(c, board, board.updateLine({ temperature: 1, humidity: 2 }), { temperature: 3, humidity: 4 });
    c.destroy();
  });

  for (const [name, ending] of [['a trailing space', ' \n'], ['a \\r\\r\\n ending', '\r\r\n'], ['a tab and CR', '\t\r\n']] as const) {
    it(`stores an update with ${name}, whole, split and byte by byte`, async () => {
      const { c, board } = await helloBoard(h.port);
      const lines = [0, 1, 2].map((i) => board.updateLine({ temperature: 30 + i, humidity: 50 + i }).replace(/\n$/, ending));
      const before = h.readings.length;
      c.send(lines[0] as string);
      const split = lines[1] as string;
      c.send(split.slice(0, 20));
      await new Promise((r) => setTimeout(r, 20));
      c.send(split.slice(20));
      for (const byte of Buffer.from(lines[2] as string)) c.send(Buffer.from([byte]));
      await waitFor(() => h.readings.length === before + 3, 5000, 'three updates');
      expect(h.readings.slice(-3).map((r) => r.values.get('temperature'))).toEqual([30, 31, 32]);
      expect(await c.closedWithin(50)).toBe(false);
      c.destroy();
    });
  }

  it('a hello with trailing whitespace names the same board', async () => {
    const c = await RawClient.open(h.port);
    const board = new BoardProtocol('example', 'secret123');
    c.send('h example \r\r\n');
    board.acceptKeyMaterial(await c.read(32));
    const before = h.readings.length;
    c.send(board.updateLine({ temperature: 5, humidity: 6 }));
    await waitFor(() => h.readings.length === before + 1, 5000, 'the update');
    c.destroy();
  });

  it('stores U for a template key the update lacks, and keeps its other values', async () => {
    const { c, board } = await helloBoard(h.port);
    await thenNormal(c, board, board.updateLine({ humidity: 77 }), { temperature: 1, humidity: 2 });
    // The normal update came after; read the odd one back from the rrd's history.
    const { stdout } = await readRrd(['fetch', join(h.dataDir, 'example.rrd'), 'LAST', '--start', String(clock / 1000 - 5), '--end', String(clock / 1000)]);
    const rows = stdout.split('\n').filter((l) => /^\d+:/.test(l)).map((l) => (l.split(':')[1] ?? '').trim().split(/\s+/));
    expect(rows.some(([t, hum]) => t === '-nan' || t === 'nan' ? Number(hum) === 77 : false)).toBe(true);
    expect(h.logs.lines.some((l) => l['code'] === 'E_MISSING_FIELD')).toBe(true);
    c.destroy();
  });
});
