import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rrduinoProfile, tempDir, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { lastUpdateValues } from '../helpers/rrd-read.ts';
import { RrdCached } from '../helpers/rrdcached.ts';

// Updates through a real rrdcached (Debian's), as on a Raspberry Pi with an SD card.

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
let daemon: RrdCached;
let h: Harness | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('rrduino-rrdcached-'));
  daemon = new RrdCached(join(dir, 'rrdcached'));
  await daemon.start();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  await daemon.stop();
  await cleanup();
});

/** A gateway through the daemon, whose clock steps a second per reading from 10 minutes ago. */
async function gateway(): Promise<Harness> {
  let clock = Math.floor(Date.now() / 1000) * 1000 - 600_000;
  const profile = rrduinoProfile() as { handler_options: { create: string[] } };
  profile.handler_options.create.unshift('--start', String(clock / 1000 - 10));
  return startHarness({ example: profile }, { rrdcached: daemon.address, now: () => (clock += 1000) });
}

/** What the file on disk holds, read without the daemon. */
async function onDisk(file: string): Promise<string | undefined> {
  return (await lastUpdateValues(file))?.values['temperature'];
}

/** What the daemon knows: it flushes the file, then reads it. */
async function viaDaemon(file: string): Promise<string | undefined> {
  const { stdout } = await run('rrdtool', ['lastupdate', '--daemon', daemon.address, file]);
  return stdout.trim().split('\n').at(-1)?.split(/\s+/)[1];
}

describe('rrdcached', { timeout: 60_000 }, () => {
  it('takes the updates: the file lags until read or stopped, then holds every one', async () => {
    h = await gateway();
    const file = join(h.dataDir, 'board.rrd');
    const { c, board } = await helloBoard(h.port);
    for (let i = 1; i <= 5; i++) c.send(board.updateLine({ temperature: i }));
    await waitFor(() => h?.backend.stats.get('updates.stored') === 5, 5000, 'five updates');
    expect(await onDisk(file)).toBe('U'); // created, but the values wait in rrdcached
    expect((await h.backend.rrd.lastUpdate(file)).values['temperature']).toBe('5'); // a read flushes first
    expect(await onDisk(file)).toBe('5');
    for (let i = 6; i <= 7; i++) c.send(board.updateLine({ temperature: i }));
    await waitFor(() => h?.backend.stats.get('updates.stored') === 7, 5000, 'two more');
    expect(await onDisk(file)).toBe('5');
    c.destroy();
    await h.gateway.close(); // a clean stop: the sessions, then the backend, which flushes what was written
    await h.backend.close();
    expect(await onDisk(file)).toBe('7');
  });

  it('loses nothing rrdcached accepted when it is killed, writes directly while it is gone, and goes back to it', async () => {
    h = await gateway();
    const file = join(h.dataDir, 'board.rrd');
    const { c, board } = await helloBoard(h.port);
    for (let i = 1; i <= 3; i++) c.send(board.updateLine({ temperature: i }));
    await waitFor(() => h?.backend.stats.get('updates.stored') === 3, 5000, 'three updates');
    await new Promise((r) => setTimeout(r, 1500)); // its journal is rotated (written) every second here
    await daemon.kill();
    expect(await onDisk(file)).toBe('U');
    await daemon.start(); // replays its journal
    expect(await viaDaemon(file)).toBe('3');
    await daemon.kill();
    for (let i = 4; i <= 5; i++) c.send(board.updateLine({ temperature: i }));
    await waitFor(() => h?.backend.stats.get('updates.stored') === 5, 5000, 'updates while rrdcached is gone');
    expect(await onDisk(file)).toBe('5');
    expect(h.backend.rrd.directWrites).toBe(2);
    expect(h.logs.lines.filter((l) => l['code'] === 'E_RRDCACHED')).toHaveLength(1);
    await daemon.start();
    await waitFor(() => h?.logs.lines.some((l) => l['msg'] === 'rrdcached is back: updates go through it again') ?? false, 15_000, 'the gateway to find rrdcached again');
    c.send(board.updateLine({ temperature: 6 }));
    await waitFor(() => h?.backend.stats.get('updates.stored') === 6, 5000, 'an update through it again');
    expect(await onDisk(file)).toBe('5');
    expect(await viaDaemon(file)).toBe('6');
    expect(h.backend.rrd.directWrites).toBe(2);
    c.destroy();
  });
});
