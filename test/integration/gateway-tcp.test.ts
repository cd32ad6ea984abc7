import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';
import { EXAMPLE_KEY, rrduinoProfile, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { fetchValues } from '../helpers/rrd-read.ts';
import { REPO_ROOT } from '../helpers/repo.ts';

const run = promisify(execFile);

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ example: rrduinoProfile(), other: rrduinoProfile('other-key-456') }, { helloTimeoutMs: 300 });
});
afterEach(async () => {
  await h.close();
});

const hello = (clientId = 'example', key = EXAMPLE_KEY): ReturnType<typeof helloBoard> => helloBoard(h.port, clientId, key);

function errorCodes(): string[] {
  return h.logs.lines.map((l) => l['code']).filter((c): c is string => typeof c === 'string');
}

describe('boards over TCP into rrdtool', () => {
  // rrdtool gives every step an update spans the same average since the last step
  // boundary, so a value shows exactly in `rrdtool fetch` once it is sent twice
  // across a boundary (as a slowly changing temperature is); a final update closes the step.
  it('stores a simulated board’s updates in its rrd', { timeout: 15_000 }, async () => {
    const board = new SimulatedBoard({ clientId: 'example', key: EXAMPLE_KEY, connect: tcpLink('127.0.0.1', h.port), intervalMs: 0 });
    board.start();
    await board.waitReady();
    board.send({ temperature: 21.5 });
    await waitFor(() => h.backend.stats.get('updates.stored') === 1, 5000, 'first update');
    for (const t of [21.5, -3.25, -3.25, 0]) {
      await new Promise((r) => setTimeout(r, 1100));
      board.send({ temperature: t });
    }
    await waitFor(() => h.backend.stats.get('updates.stored') === 5, 5000, 'five updates');
    await board.stop();
    expect(await fetchValues(join(h.dataDir, 'board.rrd'))).toEqual(expect.arrayContaining([21.5, -3.25]));
  });

  it('stores what an independent client written from the spec sends', { timeout: 20_000 }, async () => {
    await run('/usr/bin/python3', [join(REPO_ROOT, 'test/helpers/independent_client.py'), '127.0.0.1', String(h.port), 'other', 'other-key-456', ...['18.06', '18.06', '19.50', '19.50', '-1.25', '-1.25', '0']]);
    await waitFor(() => h.backend.stats.get('updates.stored') === 7, 5000, 'seven updates');
    const values = await fetchValues(join(h.dataDir, 'board.rrd'));
    expect(values).toEqual(expect.arrayContaining([18.06, 19.5, -1.25]));
  });

  it('counts every failed rrd update but logs only a few per file and minute', { timeout: 15_000 }, async () => {
    await h.close();
    const profile = rrduinoProfile() as { handler_options: { path: string } };
    profile.handler_options.path = '/dev/null/board.rrd'; // a directory that cannot exist, even for root
    h = await startHarness({ example: profile });
    const { c, board } = await hello();
    for (let i = 0; i < 20; i++) c.send(board.updateLine({ temperature: i }));
    await waitFor(() => h.backend.stats.get('errors.E_RRD_COMMAND') === 20, 10_000, '20 failed updates');
    const logged = h.logs.lines.filter((l) => l['code'] === 'E_RRD_COMMAND' && l['suppressed'] === undefined);
    expect(logged).toHaveLength(5);
    c.destroy();
  });

  it('answers an unknown client id with 32 bytes, then closes on its next line', async () => {
    const { c, board } = await hello('nobody', 'whatever-key');
    expect(c.received.length).toBe(32);
    c.send(board.updateLine({ temperature: 1 }));
    expect(await c.closedWithin(2000)).toBe(true);
    expect(errorCodes()).toContain('E_UNKNOWN_CLIENT');
  });

  it('handles many boards at once', async () => {
    const sessions = await Promise.all(Array.from({ length: 50 }, () => hello()));
    for (const s of sessions) s.c.send(s.board.updateLine({ temperature: 20 }));
    await waitFor(() => h.readings.length === 50, 5000, '50 readings');
    for (const s of sessions) s.c.destroy();
  });

  it('never logs a key at any level', async () => {
    const { c, board } = await hello();
    c.send(board.updateLine({ temperature: 1 }));
    await waitFor(() => h.readings.length === 1);
    c.send('u temperature 2 0000000000000000000000000000000000000000000000000000000000000000\n');
    await c.closedWithin(2000);
    expect(h.logs.text()).not.toContain(EXAMPLE_KEY);
  });

  it('ends the older session of a board when a newer one verifies', async () => {
    const first = await hello();
    first.c.send(first.board.updateLine({ temperature: 1 }));
    await waitFor(() => h.readings.length === 1);
    const second = await hello();
    expect(await first.c.closedWithin(200)).toBe(false); // a bare hello must not kick a board off
    second.c.send(second.board.updateLine({ temperature: 2 }));
    expect(await first.c.closedWithin(2000)).toBe(true);
    second.c.destroy();
  });

  it('accepts a second hello on the same connection as a new session', async () => {
    const { c, board } = await hello();
    c.send(board.updateLine({ temperature: 1 }));
    const again = new BoardProtocol('example', EXAMPLE_KEY);
    c.send(again.helloLine());
    again.acceptKeyMaterial(await c.read(64).then((b) => b.subarray(32)));
    c.send(again.updateLine({ temperature: 2 }));
    await waitFor(() => h.readings.length === 2);
    c.destroy();
  });

  it('logs an rrdtool error on one update and keeps the session', async () => {
    // Two updates at the same explicit time: rrdtool refuses the second (minimum one second step).
    const h2 = await startHarness({
      fixed: {
        key: EXAMPLE_KEY,
        handler_options: {
          path: 'fixed.rrd',
          create: ['--start', '1699999990', '--step', '1', 'DS:temperature:GAUGE:600:-100:1000', 'RRA:LAST:0.5:1:60'],
          update: '1700000000:{temperature}',
        },
      },
    });
    try {
      const c2 = await RawClient.open(h2.port);
      const b2 = new BoardProtocol('fixed', EXAMPLE_KEY);
      c2.send(b2.helloLine());
      b2.acceptKeyMaterial(await c2.read(32));
      c2.send(b2.updateLine({ temperature: 1 }));
      c2.send(b2.updateLine({ temperature: 2 }));
      c2.send(b2.updateLine({ temperature: 3 }));
      await waitFor(() => h2.readings.length === 3);
      expect(h2.backend.stats.get('updates.stored')).toBe(1);
      expect(h2.backend.stats.get('errors.E_RRD_COMMAND')).toBe(2);
      expect(await c2.closedWithin(100)).toBe(false);
      const logged = h2.logs.lines.find((l) => l['code'] === 'E_RRD_COMMAND');
      expect(logged?.['clientId']).toBe('fixed');
      c2.destroy();
    } finally {
      await h2.close();
    }
  });
});

describe('bad input over TCP (each closes the connection with its code)', () => {
  async function expectClosed(code: string, act: (c: RawClient, board: BoardProtocol) => void, opts: { hello?: boolean } = {}): Promise<void> {
    let c: RawClient;
    let board: BoardProtocol;
    if (opts.hello === false) {
      c = await RawClient.open(h.port);
      board = new BoardProtocol('example', EXAMPLE_KEY);
    } else {
      ({ c, board } = await hello());
    }
    act(c, board);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(errorCodes()).toContain(code);
    expect(h.backend.stats.get('updates.stored')).toBe(0);
  }

  it('update before hello', () =>
    expectClosed('E_NO_SESSION', (c) => c.send('u temperature 21.50 bf7154abbc7c7b2f0d1e72464e7249eb8d4ac4b9576b375d89b22d40e3aa12c4\n'), { hello: false }));

  it('wrong HMAC', () =>
    expectClosed('E_BAD_HMAC', (c, b) => {
      const line = b.updateLine({ temperature: 1 });
      c.send(line.replace(/[0-9a-f](?=\n)/, (d) => (d === '0' ? '1' : '0')));
    }));

  it('truncated HMAC', () => expectClosed('E_MISSING_HMAC', (c, b) => c.send(`${b.updateLine({ temperature: 1 }).slice(0, -10)}\n`)));

  it('missing HMAC', () => expectClosed('E_MISSING_HMAC', (c) => c.send('u temperature 1\n')));

  it('HMAC of a previous message (replay)', async () => {
    const { c, board } = await hello();
    const line = board.updateLine({ temperature: 1 });
    c.send(line);
    await waitFor(() => h.readings.length === 1);
    c.send(line);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(errorCodes()).toContain('E_BAD_HMAC');
    expect(h.readings.length).toBe(1);
  });

  it('unknown message type', () => expectClosed('E_UNKNOWN_TYPE', (c, b) => c.send(b.signedLine('x temperature 1'))));

  it('a line of 1 MiB with no newline', () =>
    expectClosed('E_LINE_TOO_LONG', (c) => c.send(Buffer.alloc(1 << 20, 0x61)), { hello: false }));

  it('bytes that are not ASCII', () => expectClosed('E_NOT_ASCII', (c) => c.send(Buffer.from([0x75, 0x20, 0xc3, 0xa9, 0x0a])), { hello: false }));

  it('a board that connects and sends nothing', async () => {
    const c = await RawClient.open(h.port);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(errorCodes()).toContain('E_HANDSHAKE_TIMEOUT');
  });

  it('a missing template key is logged with the profile, and the session goes on', async () => {
    const { c, board } = await hello();
    c.send(board.updateLine({ humidity: 50 }));
    await waitFor(() => errorCodes().includes('E_MISSING_FIELD'));
    expect(await c.closedWithin(100)).toBe(false);
    const logged = h.logs.lines.find((l) => l['code'] === 'E_MISSING_FIELD');
    expect(String(logged?.['profile'])).toContain('example.json');
    c.destroy();
  });
});
