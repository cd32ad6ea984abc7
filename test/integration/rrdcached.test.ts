import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rrduinoProfile, tempDir, waitFor } from '../helpers/fixtures.ts';
import { helloBoard, startHarness, type Harness } from '../helpers/gateway-harness.ts';
import { lastUpdateValues } from '../helpers/rrd-read.ts';
import { RrdCached } from '../helpers/rrdcached.ts';
import { SimulatedBoard, tcpLink } from '../../firmware-sim/simulated-board.ts';

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

  it('loses no reading when rrdcached is killed under load and restarted: what waited and what its journal lost are sent again', async () => {
    await daemon.stop();
    daemon = new RrdCached(join(dir, 'rrdcached-f60'), 60); // as the README runs it: -w 3600 -f 60 -j
    await daemon.start();
    let clock = Math.floor(Date.now() / 1000) * 1000 - 900_000;
    const ids = ['b0', 'b1', 'b2', 'b3', 'b4'];
    const profiles: Record<string, object> = {};
    for (const id of ids) {
      const p = rrduinoProfile(`key-of-${id}-0123456789`) as { handler_options: { create: string[]; path: string } };
      p.handler_options.path = `${id}.rrd`;
      p.handler_options.create.unshift('--start', String(clock / 1000 - 10));
      profiles[id] = p;
    }
    // Every reading a second of its own, in the past: each one is a value of its file.
    h = await startHarness(profiles, { rrdcached: daemon.address, now: () => (clock += 1000) });
    const harness = h;
    const sent = new Map<string, number>(ids.map((id) => [id, 0]));
    const boards = ids.map((id) => new SimulatedBoard({ clientId: id, key: `key-of-${id}-0123456789`, connect: tcpLink('127.0.0.1', harness.port), intervalMs: 50, readings: () => ({ temperature: (sent.set(id, (sent.get(id) ?? 0) + 1), sent.get(id) ?? 0) }) }));
    const verified = (): number => harness.backend.stats.get('messages.verified');
    try {
      for (const b of boards) b.start();
      await waitFor(() => verified() >= 100, 20_000, 'readings through rrdcached');
      await daemon.kill();
      const atKill = verified();
      await waitFor(() => verified() >= atKill + 50, 20_000, 'readings while rrdcached is gone');
      await daemon.start(); // replays its journal
      await waitFor(() => harness.backend.rrd.cachedProblem === undefined, 20_000, 'the gateway to find rrdcached again');
      const atBack = verified();
      await waitFor(() => verified() >= atBack + 50, 20_000, 'readings after it is back');
    } finally {
      await Promise.all(boards.map((b) => b.stop()));
    }
    await waitFor(() => harness.backend.stats.get('updates.stored') + harness.backend.stats.get('updates.coalesced') === verified(), 30_000, 'every reading answered');
    expect(harness.backend.stats.get('updates.coalesced')).toBe(0);
    await harness.gateway.close();
    await harness.backend.close(); // flushes rrdcached
    let inFiles = 0;
    for (const id of ids) {
      const { stdout } = await run('rrdtool', ['fetch', join(harness.dataDir, `${id}.rrd`), 'LAST', '--start', String(Math.floor(Date.now() / 1000) - 1_000), '--end', String(Math.floor(Date.now() / 1000) - 60)]);
      const values = new Set(stdout.split('\n').map((l) => /^\d+: (\S+)/.exec(l)?.[1]).filter((v): v is string => v !== undefined && !v.includes('nan')).map(Number));
      // Every reading the board sent and the gateway verified is in its file.
      const stored = [...values].sort((a, b) => a - b);
      expect(stored, id).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
      expect(stored.length, id).toBe(sent.get(id));
      inFiles += stored.length;
    }
    console.log(`rrdcached kill -9 under load: ${[...sent.values()].reduce((a, b) => a + b, 0)} sent, ${harness.backend.stats.get('updates.stored')} counted stored, ${inFiles} in the files`);
    expect(harness.backend.rrd.directWrites).toBe(0);
    expect(harness.logs.lines.filter((l) => l['code'] === 'E_RRDCACHED')).toHaveLength(1);
  });
});
