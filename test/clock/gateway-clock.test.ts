import { readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLOCK_FILE, GatewayClock, RESERVE_MS, type ClockFs } from '../../src/clock/gateway-clock.ts';
import { memoryLogger, tempDir } from '../helpers/fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

function clock(o: { wall: () => number; mono?: () => number; fs?: ClockFs; floorMs?: number; noDir?: boolean }) {
  const logs = memoryLogger();
  const c = new GatewayClock({ dataDir: o.noDir ? undefined : dir, logger: logs.logger, wall: o.wall, mono: o.mono ?? (() => 0), fs: o.fs, floorMs: o.floorMs });
  return { c, logs };
}
const floorOnDisk = (): number => Number(readFileSync(join(dir, CLOCK_FILE), 'utf8'));

describe('GatewayClock', () => {
  it('keeps a floor on disk ahead of every stamp it gives, written only now and then', () => {
    let wall = 1_700_000_000_000;
    const writes: string[] = [];
    const f: ClockFs = { ...fs, renameSync: (a, b) => { writes.push(String(b)); fs.renameSync(a, b); } };
    const { c } = clock({ wall: () => wall, fs: f });
    for (let i = 0; i < 200; i++) {
      const s = c.now();
      expect(floorOnDisk()).toBeGreaterThan(s);
      wall += 1_000;
    }
    expect(writes.length).toBeLessThanOrEqual(Math.ceil((200 * 1_000) / (RESERVE_MS / 2)) + 1);
  });

  it('starts a new run no lower than the last one left off, even after a kill', () => {
    let wall = 1_700_000_000_000;
    const first = clock({ wall: () => wall }).c;
    let last = 0;
    for (let i = 0; i < 10; i++) last = first.now();
    // no close: a power cut; the wall clock comes back an hour behind
    wall -= 3_600_000;
    const { c, logs } = clock({ wall: () => wall });
    expect(c.now()).toBeGreaterThan(last);
    expect(logs.lines.filter((l) => l['code'] === 'W_CLOCK_BEHIND')).toHaveLength(1);
  });

  it('after a clean stop starts at the next whole second, so no rrd file refuses the first reading', () => {
    const wall = 1_700_000_000_500;
    const first = clock({ wall: () => wall }).c;
    first.now();
    first.close();
    expect(floorOnDisk()).toBe(1_700_000_001_000);
    expect(clock({ wall: () => wall }).c.now()).toBe(1_700_000_001_000);
  });

  it('reports how far the wall clock is behind, and the largest step back', () => {
    let wall = 1_000_000;
    let mono = 0;
    const { c } = clock({ wall: () => wall, mono: () => mono, noDir: true });
    c.now();
    wall -= 30_000;
    mono += 1_000;
    c.now();
    mono += 1_000;
    expect(c.status).toEqual({ behindMs: 31_000, largestStepBackMs: 30_000 });
  });

  it('takes a floor from its creator (a session worker from the primary)', () => {
    expect(clock({ wall: () => 1_000, floorMs: 5_000, noDir: true }).c.now()).toBe(5_000);
  });

  it('starts from the wall clock when the floor file is not a number, and says so', () => {
    writeFileSync(join(dir, CLOCK_FILE), 'garbage\n');
    const { c, logs } = clock({ wall: () => 1_000 });
    expect(c.now()).toBe(1_000);
    expect(logs.lines.filter((l) => l['code'] === 'W_CLOCK_FILE')).toHaveLength(1);
  });

  it('goes on giving stamps when the floor cannot be written, saying so once', () => {
    let wall = 1_000_000;
    const f: ClockFs = { ...fs, openSync: () => { throw Object.assign(new Error('EROFS'), { code: 'EROFS' }); } };
    const { c, logs } = clock({ wall: () => wall, fs: f });
    for (let i = 0; i < 5; i++) {
      expect(c.now()).toBe(wall);
      wall += RESERVE_MS;
    }
    expect(logs.lines.filter((l) => l['code'] === 'W_CLOCK_FILE')).toHaveLength(1);
  });
});
