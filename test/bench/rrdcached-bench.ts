/**
 * Disk writes with and without rrdcached, as a Pi sees them: 10 boards, each sending a
 * reading every second for a minute, through an in-process gateway into rrd files on the
 * real disk, with the kernel's own writeback; the sectors the disk wrote (/proc/diskstats,
 * the whole machine: run it on a quiet one), then the same after rrdcached's flush. And the
 * updates/s of a burst (10 × 1,000) in each mode.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { localGateway } from '../helpers/gateway-harness.ts';
import { createLogger } from '../../src/logger.ts';
import { BoardProtocol } from '../../firmware-sim/board-protocol.ts';
import { rrduinoProfile, tempDir, waitFor, writeProfileFile } from '../helpers/fixtures.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { RrdCached } from '../helpers/rrdcached.ts';

const run = promisify(execFile);

export interface RrdcachedBenchRow {
  mode: 'direct' | 'rrdcached';
  readings: number;
  /** KiB the disk wrote per 1,000 readings while they were stored over the minute. */
  kibPer1000: number;
  /** KiB more when rrdcached wrote every file (its hourly flush, forced), per 1,000 readings. */
  kibAtFlushPer1000: number;
  /** A burst of 10 × 1,000 readings. */
  updatesPerSec: number;
}

async function sectorsWritten(): Promise<number> {
  await run('sync');
  const stats = await readFile('/proc/diskstats', 'utf8');
  return stats.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => /^(vd|sd|nvme)[a-z0-9]*$/.test(f[2] ?? '') && !/\d$/.test(f[2] ?? '') || f[2] === 'nvme0n1').reduce((sum, f) => sum + Number(f[9] ?? 0), 0);
}

export async function benchRrdcached(boards = 10, seconds = 60, burst = 1000): Promise<RrdcachedBenchRow[]> {
  const rows: RrdcachedBenchRow[] = [];
  for (const mode of ['direct', 'rrdcached'] as const) {
    const { dir, cleanup } = await tempDir('rrduino-bench-rrdcached-');
    const daemon = new RrdCached(join(dir, 'rrdcached'), 60);
    let gateway: ReturnType<typeof localGateway> | undefined;
    try {
      if (mode === 'rrdcached') await daemon.start();
      let clock = Math.floor(Date.now() / 1000) * 1000 - 7_200_000;
      for (let b = 0; b < boards; b++) {
        const p = rrduinoProfile('bench-key-0123456789', ['temperature']) as { handler_options: { path: string; create: string[] } };
        p.handler_options.path = `b${b}.rrd`;
        p.handler_options.create = ['--step', '1', '--start', String(clock / 1000 - 10), 'DS:temperature:GAUGE:600:-100:1000', 'RRA:LAST:0.5:1:86400', 'RRA:AVERAGE:0.5:60:1440'];
        await writeProfileFile(join(dir, 'profiles'), `b${b}`, p);
      }
      gateway = localGateway({ profilesDir: join(dir, 'profiles'), dataDir: join(dir, 'data'), logger: createLogger('silent'), rrdcached: mode === 'rrdcached' ? daemon.address : undefined, now: () => (clock += 100) });
      const { port } = await gateway.gateway.listenTcp('127.0.0.1', 0);
      const clients = await Promise.all(Array.from({ length: boards }, async (_, b) => {
        const c = await RawClient.open(port);
        const board = new BoardProtocol(`b${b}`, 'bench-key-0123456789');
        c.send(board.helloLine());
        board.acceptKeyMaterial(await c.read(32));
        return { c, board };
      }));
      // One update each creates the files; what is measured is the updates after.
      for (const { c, board } of clients) c.send(board.updateLine({ temperature: 0 }));
      await waitFor(() => gateway?.backend.stats.get('updates.stored') === boards, 10_000, 'files created');
      // Taken by the rrd: stored, or coalesced with an earlier reading of the same second (docs/time.md).
      const stored = (): number => (gateway?.backend.stats.get('updates.stored') ?? 0) + (gateway?.backend.stats.get('updates.coalesced') ?? 0);
      const before = await sectorsWritten();
      for (let t = 1; t <= seconds; t++) {
        for (const { c, board } of clients) c.send(board.updateLine({ temperature: t }));
        await new Promise((r) => setTimeout(r, 1000));
      }
      await waitFor(() => stored() === boards * (seconds + 1), 60_000, 'every paced update stored');
      const after = await sectorsWritten();
      await gateway.backend.rrd.flushCached();
      await new Promise((r) => setTimeout(r, 500)); // rrdcached's FLUSH answers before the write is done
      const flushed = await sectorsWritten();
      const readings = boards * seconds;
      const started = performance.now();
      for (let i = 1; i <= burst; i++) for (const { c, board } of clients) c.send(board.updateLine({ temperature: i }));
      await waitFor(() => stored() === boards * (seconds + 1 + burst), 60_000, 'the burst stored');
      const burstSeconds = (performance.now() - started) / 1000;
      const kib = (sectors: number): number => (((sectors * 512) / 1024) * 1000) / readings;
      rows.push({ mode, readings, kibPer1000: kib(after - before), kibAtFlushPer1000: kib(flushed - after), updatesPerSec: (boards * burst) / burstSeconds });
      for (const { c } of clients) c.destroy();
    } finally {
      await gateway?.close();
      await daemon.stop();
      await cleanup();
    }
  }
  return rows;
}
